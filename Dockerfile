FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY bus bus
COPY gateway gateway
COPY adapters adapters
COPY sandbox sandbox
COPY birthlink birthlink
RUN pip install --no-cache-dir . && useradd --system birthlink
USER birthlink
EXPOSE 8000
CMD ["birthlink", "--json-logs", "gateway", "--host", "0.0.0.0"]
