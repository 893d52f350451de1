# nameko 3 on eventlet: patch before anything else imports socket/threading, or tests hang.
import eventlet

eventlet.monkey_patch()

import uuid  # noqa: E402

import pytest  # noqa: E402

from tests.harness import Infrastructure, resolve_infrastructure  # noqa: E402


@pytest.fixture(scope="session")
def infra() -> Infrastructure:
    """Broker, database server and object store for this test session.

    Addresses come from the environment (AMQP_URI, POSTGRES_URL, S3_ENDPOINT...), else from
    testcontainers where a Docker engine runs, else the session stops with a message saying
    what is missing. The session gets its own RabbitMQ vhost (where rabbitmqctl is at hand),
    its own databases and its own bucket, all removed at the end.
    """
    infrastructure = resolve_infrastructure()
    yield infrastructure
    infrastructure.teardown()


@pytest.fixture(scope="session")
def service_config(infra):
    """``service_config("intake")`` -> the nameko config dict for that service under test."""
    return infra.service_config


@pytest.fixture
def unique():
    """A short random string, so tests share databases and queues without cleanup."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def database_sessions(infra):
    """``database_sessions("notify")`` -> a sessionmaker on that service's test database."""
    from sqlalchemy.orm import sessionmaker

    from shared.db import make_engine

    engines = {}

    def sessions_for(service: str):
        if service not in engines:
            engines[service] = make_engine(infra.database_url(service), pool_size=2)
        return sessionmaker(engines[service], expire_on_commit=False)

    yield sessions_for
    for engine in engines.values():
        engine.dispose()
