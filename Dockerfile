# The playground as a container: `docker build -t gd-playground . && docker run -p 8000:8000 gd-playground`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN pip install --no-cache-dir .

EXPOSE 8000
CMD ["gd-playground", "--host", "0.0.0.0", "--port", "8000"]
