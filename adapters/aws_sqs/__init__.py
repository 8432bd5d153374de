"""The AWS SQS source kind: long polling one queue, each message deleted after delivery."""
