from django.http import JsonResponse

from config.celery import app as celery_app

from .tasks import add as add_task

# Edited by the example's check to see Daphne restart and serve the change.
GREETING = "hello from daphne"


def health(request):
    return JsonResponse({"ok": True})


def hello(request):
    return JsonResponse({"message": GREETING})


def add(request):
    x, y = int(request.GET.get("x", 1)), int(request.GET.get("y", 2))
    result = add_task.delay(x, y)
    return JsonResponse({"task": result.id, "result": result.get(timeout=20)})


__all__ = ["celery_app", "health", "hello", "add"]
