def handler(request):
    return "hello"
