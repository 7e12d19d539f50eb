FROM ubuntu:22.04
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends nginx python3 && rm -rf /var/lib/apt/lists/*
# The package wrote /etc/nginx/nginx.conf; ours must replace it, after the install.
COPY nginx.conf /etc/nginx/nginx.conf
WORKDIR /srv/app
COPY pyproject.toml setup.cfg ./
RUN python3 -c "import os; print(sorted(os.listdir('.')))" > /srv/files-before-source.txt
COPY --chown=www-data:www-data --chmod=755 src/ src/
COPY scripts/*.sh /usr/local/bin/
ADD models.tar.gz /srv/models/
RUN ls -R /srv/models > /srv/models.txt
