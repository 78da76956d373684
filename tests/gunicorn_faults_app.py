"""The testing app as gunicorn serves it in tests/test_killed_workers.py: `tests.gunicorn_faults_app:app`.

The database and the photo folder come from FAULTS_DATABASE_URL and FAULTS_UPLOAD_DIR.
"""

import os

from app import create_app

app = create_app("testing", {
    "SQLALCHEMY_DATABASE_URI": os.environ["FAULTS_DATABASE_URL"],
    "UPLOAD_DIR": os.environ["FAULTS_UPLOAD_DIR"],
})
