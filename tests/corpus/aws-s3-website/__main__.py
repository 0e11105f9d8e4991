"""A static website from a folder (written for skyrelay's corpus)."""

import mimetypes
import os

import pulumi
import pulumi_aws as aws

bucket = aws.s3.Bucket("site", tags={"cost-center": "cc-web", "environment": "dev", "team": "web"})
website = aws.s3.BucketWebsiteConfiguration(
    "site-website",
    bucket=bucket.bucket,
    index_document={"suffix": "index.html"},
    error_document={"key": "404.html"},
)
public = aws.s3.BucketPublicAccessBlock("site-public", bucket=bucket.id, block_public_acls=False, block_public_policy=False)

for file in sorted(os.listdir("www")):
    path = os.path.join("www", file)
    aws.s3.BucketObject(
        file, bucket=bucket.id, source=pulumi.FileAsset(path), content_type=mimetypes.guess_type(path)[0]
    )

aws.s3.BucketPolicy(
    "site-read",
    bucket=bucket.id,
    policy=pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject"],
                    "Resource": [pulumi.Output.format("arn:aws:s3:::{0}/*", bucket.id)],
                }
            ],
        }
    ),
    opts=pulumi.ResourceOptions(depends_on=[public]),
)

pulumi.export("bucket", bucket.id)
pulumi.export("website_url", website.website_endpoint)
