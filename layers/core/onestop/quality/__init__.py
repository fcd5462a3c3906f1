"""Service quality: the working-day deadline sweep, 好差评 reviews with rectification cases, and KPIs.

Like the other domain packages it never touches boto3: `onestop.aws.quality_repository` implements
the storage ports declared in `ports.py`.
"""
