"""testcontainers path, for machines with a Docker engine and no service addresses."""

from __future__ import annotations


def start_missing(amqp_uri, postgres_url, s3):
    started = []
    if not amqp_uri:
        from testcontainers.rabbitmq import RabbitMqContainer

        rabbit = RabbitMqContainer("rabbitmq:3.13-management").start()
        started.append(rabbit)
        params = rabbit.get_connection_params()
        amqp_uri = f"amqp://guest:guest@{params.host}:{params.port}/"
    if not postgres_url:
        from testcontainers.postgres import PostgresContainer

        postgres = PostgresContainer("postgres:15", driver="psycopg2").start()
        started.append(postgres)
        postgres_url = postgres.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
    if not s3:
        from testcontainers.minio import MinioContainer

        minio = MinioContainer().start()
        started.append(minio)
        config = minio.get_config()
        s3 = (config["endpoint"], config["access_key"], config["secret_key"])
    return amqp_uri, postgres_url, s3, started
