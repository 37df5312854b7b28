"""Assignment 06: plausible wrong answers (mutants) and differently written right ones.

Each mutant replaces one solution cell; tests/test_mutants.py proves that each loses exactly its own
function's points against the hidden checks (autograder/checks/06_what_convnets_learn), whose fixtures
(hand-set weights) are built so that each of these mistakes changes the answer. The bases are written
independently of the source notebook.
"""

from autograder.submissions import mutant_factory

ASSIGNMENT = "06_what_convnets_learn"
GRADE_TOGETHER = True  # TensorFlow in the sandbox: several seconds a grading

BASE = {}

BASE["activation_model"] = '''
def activation_model(model, layer_names):
    chosen = [model.get_layer(name).output for name in layer_names]
    return keras.Model(inputs=model.inputs, outputs=chosen)
'''

BASE["filter_loss"] = '''
def filter_loss(feature_extractor, image, filter_index):
    activation = feature_extractor(image)
    return tf.reduce_mean(activation[:, 2:-2, 2:-2, filter_index])
'''

BASE["gradient_ascent_step"] = '''
def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    image = tf.convert_to_tensor(image, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.reduce_mean(feature_extractor(image)[:, 2:-2, 2:-2, filter_index])
    grads = tape.gradient(loss, image)
    grads = tf.math.l2_normalize(grads)
    image = image + learning_rate * grads
    return image
'''

BASE["generate_filter_pattern"] = '''
def generate_filter_pattern(feature_extractor, filter_index, start_image, iterations=30, learning_rate=10.0):
    image = tf.convert_to_tensor(start_image, dtype=tf.float32)
    for i in range(iterations):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = tf.reduce_mean(feature_extractor(image)[:, 2:-2, 2:-2, filter_index])
        grads = tape.gradient(loss, image)
        grads = tf.math.l2_normalize(grads)
        image = image + learning_rate * grads
    return image.numpy()[0]
'''

BASE["deprocess_image"] = '''
def deprocess_image(image):
    image = np.array(image, dtype="float64")
    image -= image.mean()
    image /= image.std() + 1e-5
    image *= 64
    image += 128
    image = np.clip(image, 0, 255).astype("uint8")
    return image
'''

BASE["make_gradcam_heatmap"] = '''
def make_gradcam_heatmap(image_batch, model, last_conv_layer_name, classifier_layer_names, pred_index=None):
    last_conv_layer = model.get_layer(last_conv_layer_name)
    conv_model = keras.Model(model.inputs, last_conv_layer.output)
    classifier_input = keras.Input(shape=last_conv_layer.output.shape[1:])
    x = classifier_input
    for name in classifier_layer_names:
        x = model.get_layer(name)(x)
    classifier_model = keras.Model(classifier_input, x)
    with tf.GradientTape() as tape:
        conv_output = conv_model(tf.convert_to_tensor(image_batch, dtype=tf.float32))
        tape.watch(conv_output)
        preds = classifier_model(conv_output)
        if pred_index is None:
            indices = tf.argmax(preds, axis=1)
        else:
            indices = tf.fill([tf.shape(preds)[0]], tf.constant(pred_index, dtype=tf.int64))
        class_channel = tf.gather(preds, indices, axis=1, batch_dims=1)
    grads = tape.gradient(class_channel, conv_output)
    pooled_grads = tf.reduce_mean(grads, axis=(1, 2))
    heatmap = tf.reduce_sum(conv_output * pooled_grads[:, None, None, :], axis=-1).numpy()
    heatmap = np.maximum(heatmap, 0)
    top = heatmap.max(axis=(1, 2), keepdims=True)
    return np.where(top > 0, heatmap / np.where(top > 0, top, 1), 0.0)
'''

BASE["superimpose_heatmap"] = '''
def superimpose_heatmap(image_rgb, heatmap, alpha=0.4):
    heatmap = np.uint8(255 * heatmap)
    heatmap = cv2.resize(heatmap, (image_rgb.shape[1], image_rgb.shape[0]))
    heatmap = cv2.applyColorMap(heatmap, cv2.COLORMAP_JET)
    heatmap = cv2.cvtColor(heatmap, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(heatmap, alpha, image_rgb, 1 - alpha, 0)
'''

Mutant = mutant_factory(BASE)

MUTANTS = [
    # activation_model
    Mutant("activation_model", "model.input (a Sequential model has none in Keras 3)", "inputs=model.inputs",
           "inputs=model.input"),
    Mutant("activation_model", "only the last layer asked for", "outputs=chosen", "outputs=chosen[-1]"),
    Mutant("activation_model", "the layers in the model's order, not the order asked for",
           "chosen = [model.get_layer(name).output for name in layer_names]",
           "chosen = [layer.output for layer in model.layers if layer.name in layer_names]"),
    Mutant("activation_model", "the first layers of the model, by position",
           "chosen = [model.get_layer(name).output for name in layer_names]",
           "chosen = [layer.output for layer in model.layers[:len(layer_names)]]"),
    Mutant("activation_model", "each layer's input instead of its output",
           "chosen = [model.get_layer(name).output for name in layer_names]",
           "chosen = [model.get_layer(name).input for name in layer_names]"),
    Mutant("activation_model", "adds the model's own output", "outputs=chosen", "outputs=chosen + model.outputs"),
    # filter_loss
    Mutant("filter_loss", "borders not excluded", "activation[:, 2:-2, 2:-2, filter_index]",
           "activation[:, :, :, filter_index]"),
    Mutant("filter_loss", "one border pixel cut instead of two", "activation[:, 2:-2, 2:-2, filter_index]",
           "activation[:, 1:-1, 1:-1, filter_index]"),
    Mutant("filter_loss", "the sum instead of the mean", "tf.reduce_mean(", "tf.reduce_sum("),
    Mutant("filter_loss", "indexes the wrong axis (a row, not a channel)", "activation[:, 2:-2, 2:-2, filter_index]",
           "activation[:, filter_index + 2, 2:-2, :]"),
    Mutant("filter_loss", "the maximum instead of the mean", "tf.reduce_mean(", "tf.reduce_max("),
    Mutant("filter_loss", "the mean of every filter", "activation[:, 2:-2, 2:-2, filter_index]",
           "activation[:, 2:-2, 2:-2, :]"),
    # gradient_ascent_step
    Mutant("gradient_ascent_step", "descent instead of ascent", "image = image + learning_rate * grads",
           "image = image - learning_rate * grads"),
    Mutant("gradient_ascent_step", "keras.ops.normalize: each pixel normalised along the last axis",
           "grads = tf.math.l2_normalize(grads)", "grads = keras.ops.normalize(grads)"),
    Mutant("gradient_ascent_step", "no normalisation", "    grads = tf.math.l2_normalize(grads)\n", ""),
    Mutant("gradient_ascent_step", "tape.watch missing on a plain tensor (the gradient is None)",
           "        tape.watch(image)\n", ""),
    Mutant("gradient_ascent_step", "borders not excluded from the loss", "[:, 2:-2, 2:-2, filter_index]",
           "[:, :, :, filter_index]"),
    Mutant("gradient_ascent_step", "returns the step, not the new image", "    return image\n",
           "    return learning_rate * grads\n"),
    # generate_filter_pattern
    Mutant("generate_filter_pattern", "one iteration too few", "for i in range(iterations):",
           "for i in range(iterations - 1):"),
    Mutant("generate_filter_pattern", "descent instead of ascent", "image = image + learning_rate * grads",
           "image = image - learning_rate * grads"),
    Mutant("generate_filter_pattern", "keras.ops.normalize's last axis", "grads = tf.math.l2_normalize(grads)",
           "grads = keras.ops.normalize(grads)"),
    Mutant("generate_filter_pattern", "ignores the learning rate (always 10)", "image = image + learning_rate * grads",
           "image = image + 10.0 * grads"),
    Mutant("generate_filter_pattern", "starts from its own noise, not start_image",
           "image = tf.convert_to_tensor(start_image, dtype=tf.float32)",
           "image = tf.random.uniform(tf.shape(start_image), -0.1, 0.1)"),
    Mutant("generate_filter_pattern", "keeps the batch axis", "return image.numpy()[0]", "return image.numpy()"),
    # deprocess_image
    Mutant("deprocess_image", "astype('uint8') without clipping (-5 wraps to 251)",
           'image = np.clip(image, 0, 255).astype("uint8")', 'image = image.astype("uint8")'),
    Mutant("deprocess_image", "not centred", "    image -= image.mean()\n", ""),
    Mutant("deprocess_image", "not divided by the standard deviation", "    image /= image.std() + 1e-5\n", ""),
    Mutant("deprocess_image", "the first edition's scale: standard deviation 0.1 of 255", "    image *= 64\n    image += 128\n",
           "    image *= 0.1 * 255\n    image += 0.5 * 255\n"),
    Mutant("deprocess_image", "crops 25 pixels like the second edition", "    return image\n",
           "    return image[25:-25, 25:-25, :]\n"),
    Mutant("deprocess_image", "returns floats, not uint8", 'image = np.clip(image, 0, 255).astype("uint8")',
           "image = np.clip(image, 0, 255)"),
    # make_gradcam_heatmap
    Mutant("make_gradcam_heatmap", "ReLU forgotten", "    heatmap = np.maximum(heatmap, 0)\n", ""),
    Mutant("make_gradcam_heatmap", "not normalised to [0, 1]", replacement=BASE["make_gradcam_heatmap"].replace(
        "    top = heatmap.max(axis=(1, 2), keepdims=True)\n    return np.where(top > 0, heatmap / np.where(top > 0, top, 1), 0.0)\n",
        "    return heatmap\n")),
    Mutant("make_gradcam_heatmap", "gradients pooled over the batch too, axes (0, 1, 2)",
           "pooled_grads = tf.reduce_mean(grads, axis=(1, 2))",
           "pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))[None, :]"),
    Mutant("make_gradcam_heatmap", "gradients not pooled over space (gradient times activation)",
           "    heatmap = tf.reduce_sum(conv_output * pooled_grads[:, None, None, :], axis=-1).numpy()\n",
           "    heatmap = tf.reduce_sum(conv_output * grads, axis=-1).numpy()\n"),
    Mutant("make_gradcam_heatmap", "pred_index ignored (always the top class)", "        if pred_index is None:\n",
           "        if True:\n"),
    Mutant("make_gradcam_heatmap", "the default is class 0, not each image's top class",
           "            indices = tf.argmax(preds, axis=1)\n",
           "            indices = tf.zeros([tf.shape(preds)[0]], dtype=tf.int64)\n"),
    Mutant("make_gradcam_heatmap", "logits: the score before the softmax", replacement=BASE["make_gradcam_heatmap"].replace(
        "    for name in classifier_layer_names:\n        x = model.get_layer(name)(x)\n",
        "    for name in classifier_layer_names[:-1]:\n        x = model.get_layer(name)(x)\n"
        "    last = model.get_layer(classifier_layer_names[-1])\n"
        "    x = keras.ops.matmul(x, last.kernel) + last.bias\n")),
    Mutant("make_gradcam_heatmap", "the gradient of the input image instead of the conv output", replacement='''
def make_gradcam_heatmap(image_batch, model, last_conv_layer_name, classifier_layer_names, pred_index=None):
    images = tf.convert_to_tensor(image_batch, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        preds = model(images)
        if pred_index is None:
            indices = tf.argmax(preds, axis=1)
        else:
            indices = tf.fill([tf.shape(preds)[0]], tf.constant(pred_index, dtype=tf.int64))
        class_channel = tf.gather(preds, indices, axis=1, batch_dims=1)
    grads = tape.gradient(class_channel, images)
    pooled_grads = tf.reduce_mean(grads, axis=(1, 2))
    heatmap = tf.reduce_sum(images * pooled_grads[:, None, None, :], axis=-1).numpy()
    heatmap = np.maximum(heatmap, 0)
    top = heatmap.max(axis=(1, 2), keepdims=True)
    return np.where(top > 0, heatmap / np.where(top > 0, top, 1), 0.0)
'''),
    # superimpose_heatmap
    Mutant("superimpose_heatmap", "applyColorMap's BGR not converted to RGB",
           "    heatmap = cv2.cvtColor(heatmap, cv2.COLOR_BGR2RGB)\n", ""),
    Mutant("superimpose_heatmap", "cv2.resize given (height, width)", "(image_rgb.shape[1], image_rgb.shape[0])",
           "(image_rgb.shape[0], image_rgb.shape[1])"),
    Mutant("superimpose_heatmap", "alpha applied to the image instead of the heatmap",
           "cv2.addWeighted(heatmap, alpha, image_rgb, 1 - alpha, 0)",
           "cv2.addWeighted(image_rgb, alpha, heatmap, 1 - alpha, 0)"),
    Mutant("superimpose_heatmap", "the lecture's sum: heatmap * alpha + the whole image",
           "cv2.addWeighted(heatmap, alpha, image_rgb, 1 - alpha, 0)",
           "cv2.addWeighted(heatmap, alpha, image_rgb, 1.0, 0)"),
    Mutant("superimpose_heatmap", "heatmap not scaled to 0..255 before colouring", "heatmap = np.uint8(255 * heatmap)",
           "heatmap = np.uint8(heatmap)"),
    Mutant("superimpose_heatmap", "alpha ignored (always 0.4)", "cv2.addWeighted(heatmap, alpha, image_rgb, 1 - alpha, 0)",
           "cv2.addWeighted(heatmap, 0.4, image_rgb, 0.6, 0)"),
]

# Right answers written differently: each must get full marks.
VARIANTS = {
    "activation_model": {
        "keras.models.Model with a loop": '''
def activation_model(model, layer_names):
    outputs = []
    for name in layer_names:
        outputs.append(model.get_layer(name=name).output)
    return keras.models.Model(model.inputs, outputs)
''',
    },
    "filter_loss": {
        "keras.ops on a slice": '''
def filter_loss(feature_extractor, image, filter_index):
    activation = feature_extractor(image)[..., filter_index]
    return keras.ops.mean(activation[:, 2:-2, 2:-2])
''',
    },
    "gradient_ascent_step": {
        "a tf.Variable (watched by itself), and keras.ops.normalize over every axis": '''
def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    image = tf.Variable(np.asarray(image, dtype="float32"))
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(feature_extractor(image)[:, 2:-2, 2:-2, filter_index])
    grads = tape.gradient(loss, image)
    grads = keras.ops.normalize(grads, axis=None)
    return (image + learning_rate * grads).numpy()
''',
    },
    "generate_filter_pattern": {
        "a tf.function step, the norm divided by hand": '''
def generate_filter_pattern(feature_extractor, filter_index, start_image, iterations=30, learning_rate=10.0):
    @tf.function
    def step(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = tf.reduce_mean(feature_extractor(image)[:, 2:-2, 2:-2, filter_index])
        grads = tape.gradient(loss, image)
        norm = tf.sqrt(tf.maximum(tf.reduce_sum(grads * grads), 1e-12))
        return image + learning_rate * grads / norm
    image = tf.constant(start_image, dtype=tf.float32)
    for _ in range(iterations):
        image = step(image)
    return np.asarray(image)[0]
''',
    },
    "deprocess_image": {
        "float32 arithmetic, rounded to the nearest level": '''
def deprocess_image(image):
    x = np.asarray(image, dtype=np.float32)
    x = (x - x.mean()) / (x.std() + 1e-5)
    return np.clip(np.round(128 + 64 * x), 0, 255).astype(np.uint8)
''',
    },
    "make_gradcam_heatmap": {
        "keras.io's grad model on the whole network, a channel mean, one image at a time": '''
def make_gradcam_heatmap(image_batch, model, last_conv_layer_name, classifier_layer_names, pred_index=None):
    grad_model = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, model.outputs[0]])
    heatmaps = []
    for image in np.asarray(image_batch, dtype="float32"):
        with tf.GradientTape() as tape:
            conv_output, preds = grad_model(image[None])
            index = int(tf.argmax(preds[0])) if pred_index is None else pred_index
            class_channel = preds[:, index]
        grads = tape.gradient(class_channel, conv_output)
        pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
        heatmap = tf.reduce_mean(conv_output[0] * pooled, axis=-1)
        heatmap = tf.maximum(heatmap, 0)
        peak = tf.reduce_max(heatmap)
        heatmaps.append((heatmap / peak).numpy() if float(peak) > 0 else heatmap.numpy())
    return np.stack(heatmaps)
''',
    },
    "superimpose_heatmap": {
        "explicit bilinear resize, RGB by reversing the channels, the blend by hand in floats": '''
def superimpose_heatmap(image_rgb, heatmap, alpha=0.4):
    height, width = image_rgb.shape[:2]
    levels = (255 * np.asarray(heatmap)).astype(np.uint8)
    resized = cv2.resize(levels, dsize=(width, height), interpolation=cv2.INTER_LINEAR)
    coloured = cv2.applyColorMap(resized, cv2.COLORMAP_JET)[..., ::-1].astype(np.float64)
    blended = alpha * coloured + (1.0 - alpha) * np.asarray(image_rgb, dtype=np.float64)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)
''',
    },
}
