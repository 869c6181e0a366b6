# The playground as a container: `docker build -t gd-playground . && docker run -p 8000:8000 gd-playground`
# Stateless: scale with GDP_WORKERS (Uvicorn processes) and more containers behind any load balancer.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GDP_HOST=0.0.0.0 GDP_PORT=8000 GDP_WORKERS=2
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels gd-playground==0.1.0 \
 && rm -rf /wheels \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin playground
USER 10001
WORKDIR /home/playground
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['GDP_PORT'], timeout=2)"]
CMD ["sh", "-c", "exec gd-playground --host \"$GDP_HOST\" --port \"$GDP_PORT\" --workers \"$GDP_WORKERS\""]
