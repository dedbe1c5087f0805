"""Fixtures for the NLU tests: one trained engine and crisis detector per test session."""

from __future__ import annotations

import pytest

from nlu.crisis import CrisisDetector
from nlu.engine import EmbeddedNLU
from nlu.training_data import TrainingData, load_training_data


@pytest.fixture(scope="session")
def training_data() -> TrainingData:
    """Return the shipped training data."""
    return load_training_data()


@pytest.fixture(scope="session")
def engine(training_data: TrainingData) -> EmbeddedNLU:
    """Return an embedded engine trained on the shipped data."""
    return EmbeddedNLU(training_data)


@pytest.fixture(scope="session")
def detector(engine: EmbeddedNLU) -> CrisisDetector:
    """Return a crisis detector using the shipped lexicon and the session engine."""
    return CrisisDetector(engine=engine)
