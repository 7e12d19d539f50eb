FROM python:3.10

# Project dependencies first, so that a code change does not reinstall them.
WORKDIR /home/jovyan/work
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --upgrade pip && \
    pip install --no-cache-dir jupyterlab==4.1.5 ipywidgets && \
    pip install --no-cache-dir -r /tmp/requirements.txt

COPY notebooks/ ./notebooks/
ENV JUPYTER_PORT=8888
EXPOSE 8888
CMD ["jupyter", "lab"]
