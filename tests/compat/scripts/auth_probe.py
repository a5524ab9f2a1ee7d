"""What gcapi shows for a missing token, a wrong token, or a user who may not read algorithm images.

Usage: auth_probe.py BASE_URL ALGORITHM_SLUG ALGORITHM_IMAGE_PK
Prints one JSON document: the step reached and the error raised (type, status code if any).
"""

import json
import sys

import gcapi

base_url, algorithm_slug, algorithm_image_pk = sys.argv[1:4]
outcome = {"step": "construct"}
try:
    client = gcapi.Client(base_url=base_url)
    outcome["step"] = "algorithm"
    client.algorithms.detail(slug=algorithm_slug)
    outcome["step"] = "algorithm_image"
    client.algorithm_images.detail(pk=algorithm_image_pk)
    outcome["step"] = "done"
except Exception as error:  # report whatever gcapi raises
    response = getattr(error, "response", None)
    outcome["error"] = type(error).__name__
    outcome["bases"] = [cls.__name__ for cls in type(error).__mro__]
    outcome["status"] = getattr(response, "status_code", None) or getattr(
        error, "status_code", None
    )
    outcome["message"] = str(error)
print(json.dumps(outcome))
