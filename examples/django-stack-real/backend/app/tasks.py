from celery import shared_task

# Edited by the example's check to see the worker restart and run the new code.
OFFSET = 0


@shared_task
def add(x, y):
    return x + y + OFFSET
