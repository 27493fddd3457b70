"""Server-rendered pages for warriors: the task page, the inbox and sign-in (``web`` blueprint)."""
