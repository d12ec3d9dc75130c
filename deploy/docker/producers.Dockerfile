# syntax=docker/dockerfile:1
# The seed's producers (deploy/producers/load_products.py writes SQL Server products,
# deploy/producers/load_orders.py writes PostgreSQL orders and shipments) and the
# connector registration script, with their client libraries from PyPI.
# Build from the repository root:
#   docker build -f deploy/docker/producers.Dockerfile -t cdcflow-producers:dev .
FROM python:3.11-slim-bookworm
COPY deploy/docker/producers-requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
 && useradd --system --uid 10002 --home-dir /app producer
WORKDIR /app
COPY deploy/producers/ /app/producers/
COPY deploy/sql/ /app/sql/
COPY deploy/connect/ /app/connect/
COPY deploy/compose/register_connectors.py /app/register_connectors.py
USER producer
ENTRYPOINT ["python3"]
CMD ["/app/producers/load_orders.py", "--help"]
