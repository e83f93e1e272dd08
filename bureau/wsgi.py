import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from bureau.middleware import readable_charsets_only

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bureau.settings")
# A Content-Type charset Django cannot decode with is taken out before it builds the request.
application = readable_charsets_only(get_wsgi_application())

# Import every view now rather than on the first request, then take all that is loaded out
# of the collector's reach: it lives as long as the process, and a full collection would
# otherwise walk it again and again, stalling every thread of the worker for 50-500 ms.
import_module(settings.ROOT_URLCONF)
gc.collect()  # what is garbage now would otherwise be kept for good
gc.freeze()
