"""Assignment 02: plausible wrong answers (mutants) and differently written right ones.

Each mutant must lose points on its own target and on no other; each variant must get
full marks on its target. A mutant is a correct implementation with one textual change,
so the catalogue fails loudly (``Mutant.source``) if the base drifts and the change no
longer applies.
"""

from autograder.submissions import mutant_factory

ASSIGNMENT = "02_shapes_params_cost"
GRADE_TOGETHER = True  # one mutant per function in each grading: 63 gradings become 16 (tests/test_mutants.py)

BASE = {}

BASE["conv_output_length"] = '''
def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    span = dilation * (kernel_size - 1) + 1
    if padding == "same":
        return -(-input_length // stride)
    return (input_length - span) // stride + 1
'''

BASE["pool_output_length"] = '''
def pool_output_length(input_length, pool_size, stride=None, padding="valid"):
    if stride is None:
        stride = pool_size
    if padding == "same":
        return -(-input_length // stride)
    return (input_length - pool_size) // stride + 1
'''

BASE["conv2d_param_count"] = '''
def conv2d_param_count(in_channels, filters, kernel_size, use_bias=True):
    kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size
    params = kh * kw * in_channels * filters
    if use_bias:
        params += filters
    return int(params)
'''

BASE["dense_param_count"] = '''
def dense_param_count(in_features, units, use_bias=True):
    params = in_features * units
    if use_bias:
        params += units
    return int(params)
'''

BASE["summarize_stack"] = '''
def _stack_pair(value):
    return (value, value) if np.ndim(value) == 0 else tuple(value)


def _stack_length(n, k, s, padding, d=1):
    span = d * (k - 1) + 1
    if padding == "same":
        return -(-n // s)
    return (n - span) // s + 1


def summarize_stack(input_shape, layers):
    shape = tuple(input_shape)
    rows = []
    for layer in layers:
        kind = layer["type"]
        params = 0
        if kind == "conv2d":
            kh, kw = _stack_pair(layer["kernel_size"])
            sh, sw = _stack_pair(layer.get("strides", 1))
            dh, dw = _stack_pair(layer.get("dilation", 1))
            padding = layer.get("padding", "valid")
            filters = layer["filters"]
            h, w, c = shape
            shape = (_stack_length(h, kh, sh, padding, dh), _stack_length(w, kw, sw, padding, dw), filters)
            params = kh * kw * c * filters
            if layer.get("use_bias", True):
                params += filters
        elif kind in ("max_pool2d", "average_pool2d"):
            ph, pw = _stack_pair(layer.get("pool_size", 2))
            strides = layer.get("strides")
            sh, sw = (ph, pw) if strides is None else _stack_pair(strides)
            padding = layer.get("padding", "valid")
            h, w, c = shape
            shape = (_stack_length(h, ph, sh, padding), _stack_length(w, pw, sw, padding), c)
        elif kind == "global_average_pool2d":
            shape = (shape[-1],)
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            units = layer["units"]
            params = shape[-1] * units
            if layer.get("use_bias", True):
                params += units
            shape = shape[:-1] + (units,)
        rows.append((shape, params))
    return rows
'''

BASE["corrected_same_table"] = '''
def corrected_same_table():
    rows = [
        ("conv2d_1", (28, 28, 32), 3 * 3 * 1 * 32 + 32),
        ("maxpooling2d_1", (14, 14, 32), 0),
        ("conv2d_2", (14, 14, 64), 3 * 3 * 32 * 64 + 64),
        ("maxpooling2d_2", (7, 7, 64), 0),
        ("conv2d_3", (7, 7, 64), 3 * 3 * 64 * 64 + 64),
        ("flatten_1", (7 * 7 * 64,), 0),
        ("dense_1", (64,), 7 * 7 * 64 * 64 + 64),
        ("dense_2", (10,), 64 * 10 + 10),
    ]
    return {"rows": rows,
            "total_params": sum(params for _, _, params in rows),
            "wrong_rows": ["flatten_1", "dense_1"]}
'''


Mutant = mutant_factory(BASE)


MUTANTS = [
    # conv_output_length
    Mutant("conv_output_length", "'same' ignores the stride", "return -(-input_length // stride)",
           "return input_length"),
    Mutant("conv_output_length", "ignores the dilation", "span = dilation * (kernel_size - 1) + 1",
           "span = kernel_size"),
    Mutant("conv_output_length", "'valid' rounds up", "return (input_length - span) // stride + 1",
           "return -(-(input_length - span) // stride) + 1"),
    Mutant("conv_output_length", "'same' rounds down", "return -(-input_length // stride)",
           "return input_length // stride"),
    Mutant("conv_output_length", "a dilated kernel spans d * k positions", "span = dilation * (kernel_size - 1) + 1",
           "span = dilation * kernel_size"),
    Mutant("conv_output_length", "'same' pads k // 2 on each side (wrong for even kernels)",
           "return -(-input_length // stride)", "return (input_length - span + 2 * (span // 2)) // stride + 1"),
    Mutant("conv_output_length", "'valid' forgets the + 1", "return (input_length - span) // stride + 1",
           "return (input_length - span) // stride"),
    # pool_output_length
    Mutant("pool_output_length", "stride defaults to 1", "stride = pool_size", "stride = 1"),
    Mutant("pool_output_length", "'same' ignores the stride", "return -(-input_length // stride)",
           "return input_length"),
    Mutant("pool_output_length", "'valid' rounds up", "return (input_length - pool_size) // stride + 1",
           "return -(-(input_length - pool_size) // stride) + 1"),
    Mutant("pool_output_length", "'same' rounds down", "return -(-input_length // stride)",
           "return input_length // stride"),
    Mutant("pool_output_length", "ignores the padding (always 'valid')", 'if padding == "same":', "if False:"),
    Mutant("pool_output_length", "divides by the pool size whatever the stride",
           "return (input_length - pool_size) // stride + 1", "return input_length // pool_size"),
    # conv2d_param_count
    Mutant("conv2d_param_count", "forgets the bias", "        params += filters", "        pass"),
    Mutant("conv2d_param_count", "ignores use_bias (always adds the bias)", "if use_bias:", "if True:"),
    Mutant("conv2d_param_count", "forgets the input channels", "params = kh * kw * in_channels * filters",
           "params = kh * kw * filters"),
    Mutant("conv2d_param_count", "handles only square kernels",
           "kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size",
           "kh = kw = kernel_size if np.ndim(kernel_size) == 0 else kernel_size[0]"),
    Mutant("conv2d_param_count", "one bias for the whole layer", "        params += filters", "        params += 1"),
    Mutant("conv2d_param_count", "one bias per input channel", "        params += filters",
           "        params += in_channels"),
    Mutant("conv2d_param_count", "adds the kernel's sides instead of multiplying them",
           "params = kh * kw * in_channels * filters", "params = (kh + kw) * in_channels * filters"),
    # dense_param_count
    Mutant("dense_param_count", "forgets the bias", "        params += units", "        pass"),
    Mutant("dense_param_count", "ignores use_bias (always adds the bias)", "if use_bias:", "if True:"),
    Mutant("dense_param_count", "one bias for the whole layer", "        params += units", "        params += 1"),
    Mutant("dense_param_count", "one bias per input feature", "        params += units",
           "        params += in_features"),
    Mutant("dense_param_count", "multiplies in 32-bit integers, which overflow on wide layers",
           "params = in_features * units", "params = np.int32(in_features) * np.int32(units)"),
    # summarize_stack
    Mutant("summarize_stack", "flatten forgets the channels", "shape = (int(np.prod(shape)),)",
           "shape = (int(np.prod(shape[:2])),)"),
    Mutant("summarize_stack", "counts the dilated span in the parameters", "params = kh * kw * c * filters",
           "params = (dh * (kh - 1) + 1) * (dw * (kw - 1) + 1) * c * filters"),
    Mutant("summarize_stack", "pooling strides default to 1", "(ph, pw) if strides is None", "(1, 1) if strides is None"),
    Mutant("summarize_stack", "'same' ignores the stride", "return -(-n // s)", "return n"),
    Mutant("summarize_stack", "'valid' rounds up", "return (n - span) // s + 1", "return -(-(n - span) // s) + 1"),
    Mutant("summarize_stack", "ignores the dilation", "span = d * (k - 1) + 1", "span = k"),
    Mutant("summarize_stack", "ignores use_bias in convolutions",
           '            if layer.get("use_bias", True):\n                params += filters',
           "            params += filters"),
    Mutant("summarize_stack", "treats every kernel as square", 'kh, kw = _stack_pair(layer["kernel_size"])',
           'kh = kw = _stack_pair(layer["kernel_size"])[0]'),
    Mutant("summarize_stack", "dense flattens a feature map first", "            params = shape[-1] * units\n",
           "            shape = (int(np.prod(shape)),)\n            params = shape[-1] * units\n"),
    Mutant("summarize_stack", "global average pooling keeps a 1x1 map", "shape = (shape[-1],)",
           "shape = (1, 1, shape[-1])"),
    Mutant("summarize_stack", "counts a scale and an offset for Rescaling", "        rows.append((shape, params))",
           '        if kind == "rescaling":\n            params = 2\n        rows.append((shape, params))'),
    # corrected_same_table
    Mutant("corrected_same_table", "keeps the lecture's Flatten size 392", '("flatten_1", (7 * 7 * 64,), 0)',
           '("flatten_1", (392,), 0)'),
    Mutant("corrected_same_table", "keeps the lecture's dense_1 count 36,928", '("dense_1", (64,), 7 * 7 * 64 * 64 + 64)',
           '("dense_1", (64,), 36928)'),
    Mutant("corrected_same_table", "keeps the lecture's total 93,322",
           '"total_params": sum(params for _, _, params in rows)', '"total_params": 93322'),
    Mutant("corrected_same_table", "dense_1 without its biases", '("dense_1", (64,), 7 * 7 * 64 * 64 + 64)',
           '("dense_1", (64,), 7 * 7 * 64 * 64)'),
    Mutant("corrected_same_table", "leaves Flatten's output as the (7, 7, 64) block", '("flatten_1", (7 * 7 * 64,), 0)',
           '("flatten_1", (7, 7, 64), 0)'),
    Mutant("corrected_same_table", "names only the Flatten row as wrong", '"wrong_rows": ["flatten_1", "dense_1"]',
           '"wrong_rows": ["flatten_1"]'),
    Mutant("corrected_same_table", "flattens only the 32 channels of the first block", '("flatten_1", (7 * 7 * 64,), 0)',
           '("flatten_1", (7 * 7 * 32,), 0)'),
    Mutant("corrected_same_table", "answers with the 'valid' network of lecture 002", replacement='''
def corrected_same_table():
    rows = [("conv2d_1", (26, 26, 32), 320), ("maxpooling2d_1", (13, 13, 32), 0),
            ("conv2d_2", (11, 11, 64), 18496), ("maxpooling2d_2", (5, 5, 64), 0),
            ("conv2d_3", (3, 3, 64), 36928), ("flatten_1", (576,), 0),
            ("dense_1", (64,), 36928), ("dense_2", (10,), 650)]
    return {"rows": rows, "total_params": 93322,
            "wrong_rows": ["conv2d_1", "maxpooling2d_1", "conv2d_2", "maxpooling2d_2", "conv2d_3", "flatten_1"]}
'''),
]

# Right answers written differently: each must get full marks.
VARIANTS = {
    "conv_output_length": {
        "math.floor and math.ceil on floats": '''
import math


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return math.ceil(input_length / stride)
    effective = (kernel_size - 1) * dilation + 1
    return math.floor((input_length - effective) / stride) + 1
''',
        "explicit TensorFlow padding, then the 'valid' rule, in NumPy integers": '''
def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    n = np.int64(input_length)
    span = dilation * (kernel_size - 1) + 1
    pad = 0
    if padding == "same":
        out = np.int64(np.ceil(n / stride))
        pad = max((out - 1) * stride + span - n, 0)
    return (n + pad - span) // stride + 1
''',
        "counting the window starts with range": '''
def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return len(range(0, input_length, stride))
    last_start = input_length - (dilation * (kernel_size - 1) + 1)
    return len(range(0, last_start + 1, stride))
''',
    },
    "pool_output_length": {
        "np.floor and np.ceil, returning NumPy integers": '''
def pool_output_length(input_length, pool_size, stride=None, padding="valid"):
    stride = pool_size if stride is None else stride
    if padding.lower() == "same":
        return np.ceil(input_length / stride).astype(np.int64)
    return np.floor((input_length - pool_size) / stride).astype(np.int64) + 1
''',
        "counting windows in a loop": '''
def pool_output_length(input_length, pool_size, stride=None, padding="valid"):
    step = stride or pool_size
    count, start = 0, 0
    while start < input_length and (padding == "same" or start + pool_size <= input_length):
        count += 1
        start += step
    return count
''',
    },
    "conv2d_param_count": {
        "NumPy product, returning a NumPy integer": '''
def conv2d_param_count(in_channels, filters, kernel_size, use_bias=True):
    kernel = np.broadcast_to(kernel_size, 2)
    return np.prod([*kernel, in_channels, filters], dtype=np.int64) + filters * bool(use_bias)
''',
        "(kernel volume + 1) per filter, tuples and ints told apart with isinstance": '''
def conv2d_param_count(in_channels, filters, kernel_size, use_bias=True):
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    kh, kw = kernel_size
    return (kh * kw * in_channels + (1 if use_bias else 0)) * filters
''',
    },
    "dense_param_count": {
        "(inputs + 1) per unit": '''
def dense_param_count(in_features, units, use_bias=True):
    return (in_features + int(use_bias)) * units
''',
        "NumPy 64-bit integers": '''
def dense_param_count(in_features, units, use_bias=True):
    weights = np.int64(in_features) * np.int64(units)
    return weights + (np.int64(units) if use_bias else np.int64(0))
''',
    },
    "summarize_stack": {
        "a dispatch table of small functions, lists instead of tuples, NumPy integers": '''
import math


def _pair_of(value):
    return list(value) if isinstance(value, (list, tuple)) else [value, value]


def _length_of(n, k, s, padding, d):
    if padding == "same":
        return math.ceil(n / s)
    return math.floor((n - d * (k - 1) - 1) / s) + 1


def _conv(shape, layer):
    ks, ss = _pair_of(layer["kernel_size"]), _pair_of(layer.get("strides", 1))
    ds = _pair_of(layer.get("dilation", 1))
    spatial = [_length_of(n, k, s, layer.get("padding", "valid"), d) for n, k, s, d in zip(shape[:2], ks, ss, ds)]
    weights = np.prod(ks) * shape[2] * layer["filters"]
    return spatial + [layer["filters"]], weights + layer["filters"] * layer.get("use_bias", True)


def _pool(shape, layer):
    ps = _pair_of(layer.get("pool_size", 2))
    ss = ps if layer.get("strides") is None else _pair_of(layer["strides"])
    return [_length_of(n, p, s, layer.get("padding", "valid"), 1) for n, p, s in zip(shape[:2], ps, ss)] + [shape[2]], 0


def _dense(shape, layer):
    return list(shape[:-1]) + [layer["units"]], np.int64(shape[-1] * layer["units"] + layer["units"] * layer.get("use_bias", True))


RULES = {
    "conv2d": _conv,
    "max_pool2d": _pool,
    "average_pool2d": _pool,
    "global_average_pool2d": lambda shape, layer: ([shape[-1]], 0),
    "flatten": lambda shape, layer: ([int(np.prod(shape))], 0),
    "dense": _dense,
    "dropout": lambda shape, layer: (list(shape), 0),
    "rescaling": lambda shape, layer: (list(shape), 0),
}


def summarize_stack(input_shape, layers):
    shape, rows = list(input_shape), []
    for layer in layers:
        shape, params = RULES[layer["type"]](shape, layer)
        rows.append([shape, params])
    return rows
''',
    },
    "corrected_same_table": {
        "hard-coded numbers, lists instead of tuples": '''
def corrected_same_table():
    return {
        "rows": [["conv2d_1", [28, 28, 32], 320], ["maxpooling2d_1", [14, 14, 32], 0],
                 ["conv2d_2", [14, 14, 64], 18496], ["maxpooling2d_2", [7, 7, 64], 0],
                 ["conv2d_3", [7, 7, 64], 36928], ["flatten_1", [3136], 0],
                 ["dense_1", [64], 200768], ["dense_2", [10], 650]],
        "total_params": 257162,
        "wrong_rows": ("flatten_1", "dense_1"),
    }
''',
        "walking the network and comparing with the printed table": '''
def corrected_same_table():
    printed = {"conv2d_1": ((28, 28, 32), 320), "maxpooling2d_1": ((14, 14, 32), 0),
               "conv2d_2": ((14, 14, 64), 18496), "maxpooling2d_2": ((7, 7, 64), 0),
               "conv2d_3": ((7, 7, 64), 36928), "flatten_1": ((392,), 0),
               "dense_1": ((64,), 36928), "dense_2": ((10,), 650)}
    h, c, rows = 28, 1, []
    for i, filters in enumerate((32, 64, 64), start=1):
        rows.append((f"conv2d_{i}", (h, h, filters), 9 * c * filters + filters))
        c = filters
        if i < 3:
            h //= 2
            rows.append((f"maxpooling2d_{i}", (h, h, c), 0))
    rows.append(("flatten_1", (h * h * c,), 0))
    rows.append(("dense_1", (64,), h * h * c * 64 + 64))
    rows.append(("dense_2", (10,), 64 * 10 + 10))
    wrong = [name for name, shape, params in rows if printed[name] != (shape, params)]
    return {"rows": rows, "total_params": sum(r[2] for r in rows), "wrong_rows": wrong}
''',
    },
}
