"""What the notebooks say about the stand-in data holds on the stand-in data.

03, section 5.3 (what dividing by 255 changes), measured with the reference code on the embedded
profile: an untrained network given raw pixels is sure of an arbitrary digit; RMSprop starts worse
on raw pixels but reaches about the same test accuracy in five epochs. If the stand-in digits, the
network or Keras change so that either stops holding, the text must change with it.

04, sections 4 and 7 and the written question: trained from scratch, the validation loss is lowest
well before the last epoch and then rises; with augmentation and dropout that point comes later,
lower, and the test accuracy ends higher. Checked on the measurements of three seeds.
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


# 04: overfitting from scratch, and what augmentation and dropout change ---------------------------
# The rows come from tools/measure_standin_lessons.py: seeds 1 and 2 trained by the tool, seed 1337
# from the notebook's own run (its fit recordings). The trainings take about 15 CPU-minutes per
# seed, so the test reads the record and checks that it is current, instead of training again.

def _lessons_tool():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "tools" / "measure_standin_lessons.py"
    spec = importlib.util.spec_from_file_location("measure_standin_lessons", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lessons_04():
    import json
    tool = _lessons_tool()
    return tool, json.loads(tool.RECORD.read_text())


def test_04_the_measurements_are_current_and_cover_the_notebooks_run(lessons_04):
    import ast

    from autograder.assignments import load_assignment
    tool, record = lessons_04
    assert record["key"] == tool.record_key(), (
        "04's reference, the stand-ins, Keras or the epochs changed: run tools/measure_standin_lessons.py "
        "--seeds 1 2 --notebook (after tools/execute_notebooks.py on 04)")
    assert {str(seed) for seed in SEEDS} <= set(record["seeds"])
    notebook = record["seeds"][str(tool.SEED)]
    recordings = tool.REPO / "datasets" / "fit-recordings" / tool.ASSIGNMENT
    for kind in tool.TRAINERS:
        assert (recordings / notebook[kind]["recording"] / "meta.json").is_file(), "the notebook's run was re-recorded"
    # the tool trains for the notebook's epochs on the embedded profile
    assignments = {node.targets[0].id: node.value
                   for cell in load_assignment(tool.ASSIGNMENT).source().cells if cell.cell_type == "code"
                   for node in ast.walk(ast.parse(cell.source))
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "").startswith("EPOCHS_")}
    assert ast.literal_eval(assignments["EPOCHS_FROM_SCRATCH"]) == tool.EPOCHS["from_scratch"]
    assert ast.literal_eval(assignments["EPOCHS_WITH_AUGMENTATION"].value)["embedded"] == tool.EPOCHS["with_augmentation"]


def test_04_the_assignment_toml_quotes_the_measurements(lessons_04):
    from autograder.assignments import CHECKS
    tool, record = lessons_04
    text = (CHECKS / tool.ASSIGNMENT / "assignment.toml").read_text()
    for seed, row in record["seeds"].items():
        for kind in tool.TRAINERS:
            quoted = (f"seed {seed}, {kind.replace('_', ' ')}: best epoch {row[kind]['best_epoch']}, "
                      f"test accuracy {row[kind]['test_accuracy']:.3f}")
            assert quoted in " ".join(text.replace("#", " ").split()), quoted


@pytest.mark.parametrize("seed", SEEDS)
def test_04_from_scratch_the_validation_loss_is_lowest_well_before_the_last_epoch_then_rises(lessons_04, seed):
    row = lessons_04[1]["seeds"][str(seed)]["from_scratch"]
    assert row["best_epoch"] <= 0.6 * row["epochs"], row
    assert row["highest_val_loss_after_best"] >= row["lowest_val_loss"] + 0.5, row


@pytest.mark.parametrize("seed", SEEDS)
def test_04_with_augmentation_overfitting_comes_later_and_the_test_accuracy_ends_higher(lessons_04, seed):
    rows = lessons_04[1]["seeds"][str(seed)]
    scratch, augmented = rows["from_scratch"], rows["with_augmentation"]
    assert augmented["best_epoch"] >= scratch["best_epoch"] + 10, rows
    assert augmented["lowest_val_loss"] < scratch["lowest_val_loss"], rows
    assert augmented["test_accuracy"] > scratch["test_accuracy"], rows
