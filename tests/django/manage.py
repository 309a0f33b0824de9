#!/usr/bin/env python
"""manage.py of the django_walrus test project (used by the subprocess command tests)."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: ``tests``
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.django_test_settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
