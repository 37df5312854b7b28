"""What the notebooks say about the stand-in data holds on the stand-in data.

03, section 5.3 (what dividing by 255 changes), measured with the reference code on the embedded
profile: an untrained network given raw pixels is sure of an arbitrary digit; RMSprop starts worse
on raw pixels but reaches about the same test accuracy in five epochs. If the stand-in digits, the
network or Keras change so that either stops holding, the text must change with it.
"""

import numpy as np
import pytest

from autograder.grading import load_reference

SEEDS = (1337, 1, 2)


@pytest.fixture(scope="module")
def mnist():
    from cnn_course.data import load_mnist
    reference = load_reference("03_mnist_convnet")
    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    return (reference, reference.preprocess_images(train_images), train_labels,
            reference.preprocess_images(test_images), test_labels)


def test_03_an_untrained_network_given_raw_pixels_is_sure_of_an_arbitrary_digit(mnist):
    from cnn_course.runtime import configure
    reference, _, _, x_test, test_labels = mnist
    for seed in SEEDS:
        configure(seed=seed, deterministic=True)
        network = reference.build_mnist_convnet()
        prepared_loss = network.evaluate(x_test, test_labels, verbose=0)[0]
        raw_loss = network.evaluate(x_test * 255, test_labels, verbose=0)[0]
        prepared_sureness = network.predict(x_test, verbose=0).max(axis=1).mean()
        raw_sureness = network.predict(x_test * 255, verbose=0).max(axis=1).mean()
        assert abs(prepared_loss - np.log(10)) < 0.05 and prepared_sureness < 0.2, (seed, prepared_loss)
        assert raw_loss > 4 * prepared_loss and raw_sureness > 0.8, (seed, raw_loss, raw_sureness)


def test_03_rmsprop_starts_worse_on_raw_pixels_and_ends_about_as_well(mnist):
    from cnn_course.runtime import configure
    reference, x_train, train_labels, x_test, test_labels = mnist
    for seed in SEEDS:
        runs = {}
        for scale in (1, 255):
            configure(seed=seed, deterministic=True)
            network = reference.build_mnist_convnet()
            first_loss = network.fit(x_train * scale, train_labels, epochs=5, batch_size=64,
                                     verbose=0).history["loss"][0]
            runs[scale] = first_loss, network.evaluate(x_test * scale, test_labels, verbose=0)[1]
        (prepared_first, prepared_accuracy), (raw_first, raw_accuracy) = runs[1], runs[255]
        # the text: first epoch's mean loss 4 to 7 raw, 1.8 to 1.9 prepared; test accuracy 0.72-0.93 / 0.83-0.89
        assert raw_first > 2 * prepared_first, (seed, runs)
        assert prepared_accuracy > 0.8 and abs(raw_accuracy - prepared_accuracy) < 0.15, (seed, runs)
