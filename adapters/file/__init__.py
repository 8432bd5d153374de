"""The file source kind: a directory watched for CREATE, WRITE, REMOVE, RENAME and CHMOD."""
