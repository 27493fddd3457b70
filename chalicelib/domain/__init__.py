"""Pure domain: no boto3, pynamodb, chalice or os.environ in here."""
