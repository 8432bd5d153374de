"""Fixtures of the AMQP tests: names of an exchange and queues (deleted after the test), and
control of the shared RabbitMQ node that always leaves it up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kinds.amqp.rabbit import Broker, Names
from tests.servicekit import AmqpService


@pytest.fixture
def names(amqp_service: AmqpService) -> Iterator[Names]:
    names = Names()
    yield names
    names.delete(amqp_service.url)


@pytest.fixture
def broker(amqp_service: AmqpService) -> Iterator[Broker]:
    """Stops and starts the shared RabbitMQ node; it is up again after the test, always."""
    control = Broker()
    try:
        yield control
    finally:
        control.close()
