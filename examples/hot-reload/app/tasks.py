"""The worker's tasks. Edit this file and save: supd restarts the worker."""


def process(text):
    return text.upper()
