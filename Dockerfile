# One image for every bokji process (api, worker, scheduler, migrate); the command picks the role.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# libseccomp2: the sandbox children's seccomp filter (processes/sandbox/hardening.py).
RUN apt-get update && apt-get install -y --no-install-recommends libseccomp2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY bokji ./bokji
COPY processes ./processes
COPY workers ./workers
COPY api ./api
COPY forms ./forms
COPY monitoring ./monitoring
COPY migrations ./migrations
COPY alembic.ini ./
# Editable: alembic.ini, migrations/ and forms/ stay next to the code, where bokji looks for them.
RUN pip install --no-cache-dir -e .
COPY --from=assets /src/node_modules ./node_modules
RUN useradd --system --uid 10001 bokji && install -d -o bokji /var/lib/bokji/metrics
# Not root: sandbox children keep this user (no chroot then; seccomp still refuses every open()).
USER bokji
EXPOSE 8000
ENTRYPOINT ["bokji"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
