"""`tfweek3 tune`: flags, defaults, bad input."""

import argparse

import pytest

from tfweek3.cli import tune as cli_tune
from tfweek3.cli.main import main
from tfweek3.search.config import SearchConfig
from tfweek3.search.space import SearchSpace


def parse(argv):
    parser = argparse.ArgumentParser()
    cli_tune.add_parser(parser.add_subparsers())
    return parser.parse_args(["tune", *argv])


def run_main(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    return status, capsys.readouterr()


def test_no_flags_mean_a_random_search_on_digits_over_the_course_ranges():
    config = cli_tune.config_from_args(parse([]))
    assert config == SearchConfig()
    assert (config.strategy, config.dataset, config.objective) == ("random", "digits",
                                                                   "val_accuracy")
    assert config.space.learning_rate == (1e-4, 1.0)
    assert config.space.one_minus_beta == (1e-3, 1e-1)


def test_flags_round_trip_through_the_worker_command_line():
    config = SearchConfig(
        strategy="grid", trials=7, epochs=3, dataset="npz:data.npz", directory="some/dir",
        seed=5, objective="val_loss", grid_points=4, rounds=2, zoom_k=2, margin=0.25,
        workers=1, threads=2, top_k=3, project="round_2", write_results=False,
        tensorboard=False, prune="median", prune_min_trials=3, prune_after=2,
        population=5, ready_epochs=3, exploit_quantile=0.3, perturb_factor=1.5,
        resample_probability=0.125,
        space=SearchSpace(learning_rate=(3.3e-4, 0.123456789), one_minus_beta=(0.002, 0.05),
                          units=(10, 20), layers=(2, 2), batch_size=(32, 128),
                          batch_norm=(True,), optimizer=("sgd", "adam")),
    )
    assert cli_tune.config_from_args(parse(config.to_argv())) == config


def test_a_single_value_fixes_a_range():
    space = cli_tune.config_from_args(parse(["--units", "25", "--alpha", "0.01"])).space
    assert space.units == (25, 25) and space.learning_rate == (0.01, 0.01)


@pytest.mark.parametrize("flags, named, says", [
    (["--alpha", "1:0.1"], "--alpha", "minimum 1 is above maximum 0.1"),
    (["--alpha", "0:1"], "--alpha", "log-scale range must stay above 0"),
    (["--one-minus-beta", "0:0.1"], "--one-minus-beta", "log-scale range must stay above 0"),
    (["--units", "64:8"], "--units", "minimum 64 is above maximum 8"),
    (["--batch-sizes", "16,48"], "--batch-sizes", "powers of two"),
    (["--optimizers", "adam,lbfgs"], "--optimizers", "choose among"),
    (["--trials", "0"], "--trials", "at least 1"),
    (["--epochs", "two"], "--epochs", "whole number"),
    (["--strategy", "bayes"], "--strategy", "invalid choice"),
    (["--objective", "val_auc"], "--objective", "the course network reports loss, accuracy"),
    (["--grid-points", "1"], "--grid-points", "at least 2"),
    (["--one-minus-beta", "0.01:1"], "--one-minus-beta", "below 1"),
    (["--strategy", "coarse-to-fine", "--trials", "2", "--rounds", "3"], "--trials", "3 rounds"),
    (["--dataset", "npz:/no/such/file.npz"], "--dataset", "file not found"),
    (["--dataset", "mnist"], "--dataset",
     "expected digits, signs:FOLDER, npz:FILE or keras:mnist|fashion_mnist|cifar10"),
    (["--prune", "hyperband"], "--prune", "invalid choice"),
    (["--prune-min-trials", "0"], "--prune-min-trials", "at least 1"),
    (["--prune", "median", "--epochs", "4", "--prune-after", "4"], "--prune-after",
     "below --epochs (4)"),
    (["--strategy", "pbt", "--prune", "median"], "--prune", "pbt replaces its losing members"),
    (["--population", "1"], "--population", "at least 2"),
    (["--strategy", "pbt", "--epochs", "4", "--ready-epochs", "4"], "--ready-epochs",
     "below epochs (4)"),
    (["--exploit-quantile", "0.6"], "--exploit-quantile", "(0, 0.5]"),
    (["--perturb-factor", "0.8"], "--perturb-factor", "above 1"),
    (["--resample-probability", "1.5"], "--resample-probability", "[0, 1]"),
])
def test_bad_input_is_one_line_naming_the_flag_and_exit_2(flags, named, says, capsys, tmp_path):
    status, captured = run_main(["tune", "--dir", str(tmp_path), *flags], capsys)
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tfweek3 tune: error: argument ")
    assert named in lines[0] and says in lines[0]
    assert not (tmp_path / "trials.csv").exists()


def test_a_folder_that_cannot_be_written_is_one_line_naming_it(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    status, captured = run_main(["tune", "--dir", str(blocker / "runs")], capsys)
    assert status == 2
    assert captured.err.strip() == (f"tfweek3 tune: error: argument --dir: cannot write in "
                                    f"{blocker / 'runs'} (Not a directory)")
