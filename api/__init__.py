"""HTTP: FastAPI routers and server-rendered pages only. Logic lives in the bokji domain packages."""
