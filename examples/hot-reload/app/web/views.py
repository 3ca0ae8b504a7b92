"""The web server's pages. Edit this file and save: supd restarts the web server only."""


def index():
    return "Hello from supd's hot-reload example!\n"
