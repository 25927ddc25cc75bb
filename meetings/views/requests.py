from django.http import Http404


def meeting_detail(request, pk):
    raise Http404


def approval_queue(request):
    raise Http404


def notification_list(request):
    raise Http404
