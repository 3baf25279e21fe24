"""engine.device.torch_threads: a model step that wants another thread count must leave the caller's as it was,
also when it fails or changes the count itself (the next model call would otherwise run with it)."""
import pytest
import torch

from describe_aloud.engine.device import torch_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_the_block_runs_with_the_count_asked_and_the_callers_count_comes_back(two_threads):
    with torch_threads(1):
        inside = torch.get_num_threads()
    assert (inside, torch.get_num_threads()) == (1, 2)


def test_none_keeps_the_count_and_a_block_that_changes_it_is_undone(two_threads):
    with torch_threads():
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)  # what a measurement of several counts does
    assert torch.get_num_threads() == 2


def test_an_error_inside_still_gives_the_count_back(two_threads):
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("the step failed")
    assert torch.get_num_threads() == 2
