"""The emission factor catalog in force (public: the mini program shows it before login)."""

from app.api import bp
from app.api.schemas import factor_json
from app.services import accounting, clock


@bp.get("/factors")
def factors():
    return {"items": [factor_json(f) for f in accounting.current_catalog(clock.now())]}
