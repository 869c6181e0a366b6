"""One APIRouter per file, combined in app.main."""
