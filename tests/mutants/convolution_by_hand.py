"""Assignment 01: plausible wrong answers (mutants) and differently written right ones.

Each mutant must lose points on its own target and on no other; each variant must get
full marks on its target. A mutant is a correct implementation with one textual change,
so the catalogue fails loudly (``Mutant.source``) if the base drifts and the change no
longer applies.
"""

from autograder.submissions import mutant_factory

ASSIGNMENT = "01_convolution_by_hand"
GRADE_TOGETHER = True  # one mutant per function in each grading: 82 gradings become 14 (tests/test_mutants.py)

BASE = {}

BASE["correlate2d"] = '''
def correlate2d(image, kernel):
    image = np.asarray(image)
    kernel = np.asarray(kernel)
    acc = np.result_type(image, kernel, np.int64)
    kh, kw = kernel.shape
    out_h = image.shape[0] - kh + 1
    out_w = image.shape[1] - kw + 1
    out = np.zeros((out_h, out_w), dtype=acc)
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw].astype(acc) * kernel.astype(acc))
    return out
'''

BASE["conv2d"] = '''
def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def _same_padding(n, k, s):
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    n, h, w, c_in = x.shape
    kh, kw, _, c_out = kernel.shape
    sh, sw = _pair(strides)
    if padding == "same":
        top, bottom = _same_padding(h, kh, sh)
        left, right = _same_padding(w, kw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h = (x.shape[1] - kh) // sh + 1
    out_w = (x.shape[2] - kw) // sw + 1
    out = np.zeros((n, out_h, out_w, c_out), dtype=np.result_type(x, kernel, float))
    for b in range(n):
        for i in range(out_h):
            for j in range(out_w):
                window = x[b, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                for f in range(c_out):
                    out[b, i, j, f] = np.sum(window * kernel[:, :, :, f])
    if bias is not None:
        out = out + bias
    return out
'''

BASE["conv2d_fast"] = '''
def _pair_fast(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def _same_padding_fast(n, k, s):
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    kh, kw = kernel.shape[:2]
    sh, sw = _pair_fast(strides)
    if padding == "same":
        top, bottom = _same_padding_fast(x.shape[1], kh, sh)
        left, right = _same_padding_fast(x.shape[2], kw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    windows = windows[:, ::sh, ::sw]
    out = np.einsum("nhwcij,ijcf->nhwf", windows, kernel.astype(float))
    if bias is not None:
        out = out + bias
    return out
'''

BASE["relu"] = '''
def relu(x):
    return np.maximum(x, 0)
'''

_POOL = '''
def _pool_pair_{kind}(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def _pool_padding_{kind}(n, k, s):
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def {kind}_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = np.asarray(x, dtype=float)
    ph, pw = _pool_pair_{kind}(pool_size)
    sh, sw = _pool_pair_{kind}(pool_size if strides is None else strides)
    n, h, w, c = x.shape
    if padding == "same":
        top, bottom = _pool_padding_{kind}(h, ph, sh)
        left, right = _pool_padding_{kind}(w, pw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=np.nan)
    out_h = (x.shape[1] - ph) // sh + 1
    out_w = (x.shape[2] - pw) // sw + 1
    out = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * sh:i * sh + ph, j * sw:j * sw + pw, :]
            out[:, i, j, :] = np.{reduce}(window, axis=(1, 2))
    return out
'''
BASE["max_pool2d"] = _POOL.format(kind="max", reduce="nanmax")
BASE["avg_pool2d"] = _POOL.format(kind="avg", reduce="nanmean")

BASE["flatten"] = '''
def flatten(x):
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1)
'''

BASE["conv2d_multiply_adds"] = '''
def conv2d_multiply_adds(input_shape, kernel_size, filters, strides=1, padding="valid"):
    n, h, w, c_in = input_shape
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    sh, sw = (strides, strides) if np.isscalar(strides) else strides
    if padding == "same":
        out_h, out_w = -(-h // sh), -(-w // sw)
    else:
        out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    return int(n * filters * out_h * out_w * kh * kw * c_in)
'''


Mutant = mutant_factory(BASE)


MUTANTS = [
    # correlate2d
    Mutant("correlate2d", "flips the kernel (true convolution)",
           "    kh, kw = kernel.shape\n", "    kernel = kernel[::-1, ::-1]\n    kh, kw = kernel.shape\n"),
    Mutant("correlate2d", "output one row and column too small", "out_h = image.shape[0] - kh + 1",
           "out_h = image.shape[0] - kh"),
    Mutant("correlate2d", "treats every kernel as square", "kh, kw = kernel.shape", "kh = kw = kernel.shape[0]"),
    Mutant("correlate2d", "keeps the image's integer dtype", "out = np.zeros((out_h, out_w), dtype=acc)",
           "out = np.zeros((out_h, out_w), dtype=image.dtype)"),
    Mutant("correlate2d", "multiplies uint8 inputs in uint8 (products above 255 wrap around)",
           "acc = np.result_type(image, kernel, np.int64)", "acc = np.result_type(image, kernel)"),
    Mutant("correlate2d", "computes floats in float32", "acc = np.result_type(image, kernel, np.int64)",
           "acc = np.result_type(image, kernel, np.int64)\n    if acc.kind == 'f':\n        acc = np.dtype(np.float32)"),
    Mutant("correlate2d", "uses the image height for the output width", "out_w = image.shape[1] - kw + 1",
           "out_w = image.shape[0] - kw + 1"),
    Mutant("correlate2d", "normalises the image in place", "    image = np.asarray(image)\n",
           "    image = np.asarray(image)\n    if image.dtype.kind == 'f':\n        image *= 1.0 / max(1.0, float(np.abs(image).max()))\n"),
    # conv2d
    Mutant("conv2d", "'same' puts the extra row and column at the top/left",
           "return total // 2, total - total // 2", "return total - total // 2, total // 2"),
    Mutant("conv2d", "'same' pads k//2 on each side whatever the stride",
           "total = max((-(-n // s) - 1) * s + k - n, 0)", "total = 2 * (k // 2)"),
    Mutant("conv2d", "flips the kernel", "    kh, kw, _, c_out = kernel.shape\n",
           "    kernel = kernel[::-1, ::-1]\n    kh, kw, _, c_out = kernel.shape\n"),
    Mutant("conv2d", "ignores the bias", "        out = out + bias", "        pass"),
    Mutant("conv2d", "swaps the two strides of a pair", "    sh, sw = _pair(strides)", "    sw, sh = _pair(strides)"),
    Mutant("conv2d", "uses only the first input channel", "np.sum(window * kernel[:, :, :, f])",
           "np.sum(window[..., 0] * kernel[:, :, 0, f])"),
    Mutant("conv2d", "stores results in the input's integer dtype", "dtype=np.result_type(x, kernel, float)",
           "dtype=x.dtype"),
    Mutant("conv2d", "computes in float32 whatever the input",
           "    x = np.asarray(x)\n    kernel = np.asarray(kernel)\n    n, h, w, c_in = x.shape",
           "    x = np.asarray(x, dtype=np.float32)\n    kernel = np.asarray(kernel, dtype=np.float32)\n"
           "    n, h, w, c_in = x.shape"),
    # conv2d_fast
    Mutant("conv2d_fast", "correct values but loops over output positions",
           replacement=BASE["conv2d"].replace("_pair", "_pair_fast").replace("_same_padding", "_same_padding_fast")
           .replace("def conv2d(", "def conv2d_fast(")),
    Mutant("conv2d_fast", "loops over output positions, batch and channels vectorised",
           '    out = np.einsum("nhwcij,ijcf->nhwf", windows, kernel.astype(float))\n',
           '    out = np.zeros(windows.shape[:3] + (kernel.shape[3],))\n'
           '    for i in range(windows.shape[1]):\n'
           '        for j in range(windows.shape[2]):\n'
           '            out[:, i, j] = np.einsum("ncij,ijcf->nf", windows[:, i, j], kernel.astype(float))\n'),
    Mutant("conv2d_fast", "loops over the images of the batch",
           '    out = np.einsum("nhwcij,ijcf->nhwf", windows, kernel.astype(float))\n',
           '    out = np.stack([np.einsum("hwcij,ijcf->hwf", image, kernel.astype(float)) for image in windows])\n'),
    Mutant("conv2d_fast", "flips the kernel", "    kh, kw = kernel.shape[:2]\n",
           "    kernel = kernel[::-1, ::-1]\n    kh, kw = kernel.shape[:2]\n"),
    Mutant("conv2d_fast", "'same' puts the extra row and column at the top/left",
           "return total // 2, total - total // 2", "return total - total // 2, total // 2"),
    Mutant("conv2d_fast", "uses the vertical stride for both directions", "windows[:, ::sh, ::sw]",
           "windows[:, ::sh, ::sh]"),
    Mutant("conv2d_fast", "ignores the bias", "        out = out + bias", "        pass"),
    Mutant("conv2d_fast", "computes in float32 whatever the input", "windows, kernel.astype(float))",
           "windows.astype(np.float32), kernel.astype(np.float32))"),
    Mutant("conv2d_fast", "calls TensorFlow's convolution",
           replacement='''
import tensorflow as tf


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    out = tf.nn.conv2d(x.astype("float32"), kernel.astype("float32"), strides, padding.upper()).numpy()
    return out if bias is None else out + bias
'''),
    # relu
    Mutant("relu", "changes the input in place", replacement='''
def relu(x):
    x[x < 0] = 0
    return x
'''),
    Mutant("relu", "casts the result to integers", "return np.maximum(x, 0)", "return np.maximum(x, 0).astype(int)"),
    Mutant("relu", "absolute value instead of max(x, 0)", "return np.maximum(x, 0)", "return np.abs(x)"),
    Mutant("relu", "leaky ReLU (0.01 x for negatives)", "return np.maximum(x, 0)", "return np.maximum(x, 0.01 * x)"),
    Mutant("relu", "clips to [0, 1]", "return np.maximum(x, 0)", "return np.clip(x, 0, 1)"),
    Mutant("relu", "uses Python's max on an array", "return np.maximum(x, 0)", "return max(x, 0)"),
    Mutant("relu", "returns floats for integer input (a float 0.0)", "return np.maximum(x, 0)",
           "return np.maximum(x, 0.0)"),
    # max_pool2d
    Mutant("max_pool2d", "strides default to 1", "pool_size if strides is None else strides",
           "1 if strides is None else strides"),
    Mutant("max_pool2d", "'same' pads with zeros, which beat negative values", "constant_values=np.nan",
           "constant_values=0"),
    Mutant("max_pool2d", "'same' puts the extra row and column at the top/left",
           "return total // 2, total - total // 2", "return total - total // 2, total // 2"),
    Mutant("max_pool2d", "swaps the pool height and width", "ph, pw = _pool_pair_max(pool_size)",
           "pw, ph = _pool_pair_max(pool_size)"),
    Mutant("max_pool2d", "takes the max across channels too", "np.nanmax(window, axis=(1, 2))",
           "np.nanmax(window, axis=(1, 2, 3))[:, None]"),
    Mutant("max_pool2d", "ignores 'same' padding", 'if padding == "same":', "if False:"),
    # avg_pool2d
    Mutant("avg_pool2d", "'same' average counts the padding as zeros", "constant_values=np.nan",
           "constant_values=0"),
    Mutant("avg_pool2d", "strides default to 1", "pool_size if strides is None else strides",
           "1 if strides is None else strides"),
    Mutant("avg_pool2d", "'same' puts the extra row and column at the top/left",
           "return total // 2, total - total // 2", "return total - total // 2, total // 2"),
    Mutant("avg_pool2d", "takes the max (copied from max_pool2d)", "np.nanmean(window, axis=(1, 2))",
           "np.nanmax(window, axis=(1, 2))"),
    Mutant("avg_pool2d", "floors the average of integer inputs", "    x = np.asarray(x, dtype=float)\n",
           "    integer = np.asarray(x).dtype.kind in 'iu'\n    x = np.asarray(x, dtype=float)\n",),
    Mutant("avg_pool2d", "ignores 'same' padding", 'if padding == "same":', "if False:"),
    # flatten
    Mutant("flatten", "channels-first order", "return x.reshape(x.shape[0], -1)",
           "return np.moveaxis(x, -1, 1).reshape(x.shape[0], -1)"),
    Mutant("flatten", "flattens the batch axis too", "return x.reshape(x.shape[0], -1)", "return x.reshape(-1)"),
    Mutant("flatten", "column-major (Fortran) order", "return x.reshape(x.shape[0], -1)",
           "return x.reshape(x.shape[0], -1, order='F')"),
    Mutant("flatten", "assumes a 4-D input", "return x.reshape(x.shape[0], -1)",
           "return x.reshape(x.shape[0], x.shape[1] * x.shape[2] * x.shape[3])"),
    Mutant("flatten", "returns a single row", "return x.reshape(x.shape[0], -1)", "return x.reshape(1, -1)"),
    Mutant("flatten", "leaves a 1-D input as it is", "return x.reshape(x.shape[0], -1)",
           "return x if x.ndim == 1 else x.reshape(x.shape[0], -1)"),
    Mutant("flatten", "converts to floats", "    x = np.asarray(x)\n", "    x = np.asarray(x, dtype=float)\n"),
    Mutant("flatten", "reshapes the caller's array in place", replacement='''
def flatten(x):
    x.shape = (x.shape[0], -1)
    return x
'''),
    # conv2d_multiply_adds
    Mutant("conv2d_multiply_adds", "forgets the input channels", "kh * kw * c_in)", "kh * kw)"),
    Mutant("conv2d_multiply_adds", "uses the input size instead of the output size",
           "n * filters * out_h * out_w", "n * filters * h * w"),
    Mutant("conv2d_multiply_adds", "forgets the batch", "int(n * filters", "int(filters"),
    Mutant("conv2d_multiply_adds", "'same' ignores the stride", "out_h, out_w = -(-h // sh), -(-w // sw)",
           "out_h, out_w = h, w"),
    Mutant("conv2d_multiply_adds", "'valid' rounds up", "out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1",
           "out_h, out_w = -(-(h - kh) // sh) + 1, -(-(w - kw) // sw) + 1"),
    Mutant("conv2d_multiply_adds", "multiplies in floats (not exact beyond 2**53)",
           "return int(n * filters * out_h * out_w * kh * kw * c_in)",
           "return float(n) * filters * out_h * out_w * kh * kw * c_in"),
    Mutant("conv2d_multiply_adds", "treats every kernel as square",
           "kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size",
           "kh = kw = kernel_size if np.isscalar(kernel_size) else kernel_size[0]"),
]

# the floor mutant needs its second half: integer inputs are floored after averaging
_floor = [m for m in MUTANTS if m.name == "floors the average of integer inputs"][0]
MUTANTS[MUTANTS.index(_floor)] = Mutant(
    "avg_pool2d", _floor.name,
    replacement=_floor.source.replace("    return out\n", "    return np.floor(out) if integer else out\n"))

# Right answers written differently: each must get full marks.
VARIANTS = {
    "correlate2d": {
        "sliding windows and einsum": '''
def correlate2d(image, kernel):
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(image), np.shape(kernel))
    return np.einsum("ijkl,kl->ij", windows, kernel, dtype=np.result_type(image, kernel, np.int64))
''',
        "loop over kernel offsets": '''
def correlate2d(image, kernel):
    image, kernel = np.asarray(image), np.asarray(kernel)
    if image.dtype.kind in "biu" and kernel.dtype.kind in "biu":
        image, kernel = image.astype(np.int64), kernel.astype(np.int64)
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    total = 0
    for a in range(kh):
        for b in range(kw):
            total = total + kernel[a, b] * image[a:a + h, b:b + w]
    return total
''',
    },
    "conv2d": {
        "seven nested loops and explicit zero padding": '''
import math


def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    sh, sw = (strides, strides) if isinstance(strides, int) else strides
    n, h, w, c_in = x.shape
    kh, kw, _, c_out = kernel.shape
    if padding == "same":
        out_h, out_w = math.ceil(h / sh), math.ceil(w / sw)
        pad_h = max((out_h - 1) * sh + kh - h, 0)
        pad_w = max((out_w - 1) * sw + kw - w, 0)
        padded = np.zeros((n, h + pad_h, w + pad_w, c_in))
        padded[:, pad_h // 2:pad_h // 2 + h, pad_w // 2:pad_w // 2 + w, :] = x
    else:
        out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
        padded = x
    out = np.zeros((n, out_h, out_w, c_out))
    for b in range(n):
        for i in range(out_h):
            for j in range(out_w):
                for f in range(c_out):
                    acc = 0.0
                    for u in range(kh):
                        for v in range(kw):
                            for c in range(c_in):
                                acc += padded[b, i * sh + u, j * sw + v, c] * kernel[u, v, c, f]
                    out[b, i, j, f] = acc + (0 if bias is None else bias[f])
    return out
''',
    },
    "conv2d_fast": {
        "im2col with as_strided and tensordot": '''
def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    sh, sw = (strides, strides) if np.ndim(strides) == 0 else strides
    kh, kw, c_in, c_out = kernel.shape
    if padding == "same":
        pads = []
        for n, k, s in ((x.shape[1], kh, sh), (x.shape[2], kw, sw)):
            total = max((int(np.ceil(n / s)) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    n, h, w, _ = x.shape
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    s0, s1, s2, s3 = x.strides
    cols = np.lib.stride_tricks.as_strided(
        x, shape=(n, out_h, out_w, kh, kw, c_in), strides=(s0, s1 * sh, s2 * sw, s1, s2, s3))
    out = np.tensordot(cols, kernel, axes=([3, 4, 5], [0, 1, 2]))
    return out + (0 if bias is None else bias)
''',
        "loop over kernel offsets only": '''
def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    sh, sw = (strides, strides) if np.ndim(strides) == 0 else strides
    kh, kw, c_in, c_out = kernel.shape
    if padding == "same":
        ph = max((-(-x.shape[1] // sh) - 1) * sh + kh - x.shape[1], 0)
        pw = max((-(-x.shape[2] // sw) - 1) * sw + kw - x.shape[2], 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out_h, out_w = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    out = np.zeros((x.shape[0], out_h, out_w, c_out))
    for u in range(kh):
        for v in range(kw):
            patch = x[:, u:u + sh * (out_h - 1) + 1:sh, v:v + sw * (out_w - 1) + 1:sw, :]
            out += patch @ kernel[u, v]
    return out if bias is None else out + bias
''',
    },
    "relu": {
        "np.where": "def relu(x):\n    return np.where(x > 0, x, 0)\n",
        "multiply by a mask": "def relu(x):\n    return x * (x > 0)\n",
        "copy then clip from below": "def relu(x):\n    y = np.array(x, copy=True)\n    y[y < 0] = 0\n    return y\n",
    },
    "max_pool2d": {
        "-inf padding and loops per channel": '''
def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    ph, pw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else pool_size
    strides = (ph, pw) if strides is None else strides
    sh, sw = (strides, strides) if np.ndim(strides) == 0 else strides
    x = np.asarray(x, dtype=float)
    if padding == "same":
        th = max((-(-x.shape[1] // sh) - 1) * sh + ph - x.shape[1], 0)
        tw = max((-(-x.shape[2] // sw) - 1) * sw + pw - x.shape[2], 0)
        x = np.pad(x, ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)),
                   constant_values=-np.inf)
    oh, ow = (x.shape[1] - ph) // sh + 1, (x.shape[2] - pw) // sw + 1
    out = np.empty((x.shape[0], oh, ow, x.shape[3]))
    for b in range(x.shape[0]):
        for c in range(x.shape[3]):
            for i in range(oh):
                for j in range(ow):
                    out[b, i, j, c] = x[b, i * sh:i * sh + ph, j * sw:j * sw + pw, c].max()
    return out
''',
    },
    "avg_pool2d": {
        "sums divided by counts of real cells": '''
def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    ph, pw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else pool_size
    strides = (ph, pw) if strides is None else strides
    sh, sw = (strides, strides) if np.ndim(strides) == 0 else strides
    x = np.asarray(x, dtype=float)
    ones = np.ones_like(x)
    if padding == "same":
        th = max((-(-x.shape[1] // sh) - 1) * sh + ph - x.shape[1], 0)
        tw = max((-(-x.shape[2] // sw) - 1) * sw + pw - x.shape[2], 0)
        pad = ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0))
        x, ones = np.pad(x, pad), np.pad(ones, pad)
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]
    counts = np.lib.stride_tricks.sliding_window_view(ones, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]
    return windows.sum(axis=(-2, -1)) / counts.sum(axis=(-2, -1))
''',
    },
    "flatten": {
        "np.reshape with an explicit product": "def flatten(x):\n    return np.reshape(x, (len(x), int(np.prod(x.shape[1:]))))\n",
        "stack of ravelled samples": "def flatten(x):\n    return np.stack([sample.ravel() for sample in x])\n",
    },
    "conv2d_multiply_adds": {
        "math.ceil and math.prod of Python ints": '''
import math


def conv2d_multiply_adds(input_shape, kernel_size, filters, strides=1, padding="valid"):
    n, h, w, c = input_shape
    kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    sh, sw = strides if isinstance(strides, tuple) else (strides, strides)
    if padding == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
    else:
        oh, ow = math.floor((h - kh) / sh) + 1, math.floor((w - kw) / sw) + 1
    return math.prod([n, filters, oh, ow, kh, kw, c])
''',
        "NumPy product": '''
def conv2d_multiply_adds(input_shape, kernel_size, filters, strides=1, padding="valid"):
    k = np.broadcast_to(kernel_size, 2)
    s = np.broadcast_to(strides, 2)
    size = np.array(input_shape[1:3])
    out = -(-size // s) if padding == "same" else (size - k) // s + 1
    return np.prod([input_shape[0], filters, *out, *k, input_shape[3]], dtype=np.int64)
''',
    },
}
