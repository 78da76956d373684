"""The emission factor catalog in force (public: the mini program shows it before login)."""

from app.api import bp
from app.api.schemas import FactorList, factor_json
from app.services import accounting, clock


@bp.get("/factors", responses={200: FactorList})
def factors():
    """The emission factors in force (public)"""
    return {"items": [factor_json(f) for f in accounting.current_catalog(clock.now())]}
