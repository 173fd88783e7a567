# S3 buckets, one per purpose (shared/resources.py names the three the code uses):
#   {prefix}-recordings  recordings/{org}/{yyyy}/{mm}/{dd}/{task_id}/{recording_id}.wav             SSE-KMS, versioned
#   {prefix}-results     transcripts/, analyses/, analytics/…/dt=YYYY-MM-DD/, reports/, athena-results/  SSE-KMS, versioned
#   {prefix}-messages    claim-check bodies of queue messages over ~200 KB, short expiry               SSE-KMS
#   {prefix}-logs        S3 server access logs (s3-access/) and ALB access logs (alb/)                 SSE-S3, versioned
#   {prefix}-simulator   WXCC simulator data (optional)                                                SSE-KMS
# Every bucket: public access blocked, ACLs disabled, a TLS-only bucket policy, lifecycle rules from variables.

locals {
  day_rules = {
    recordings = [
      { id = "recordings", prefix = "", days = var.recordings_retention_days, ia_days = var.recordings_infrequent_access_after_days },
    ]
    results = [
      { id = "transcripts", prefix = "transcripts/", days = var.transcripts_retention_days, ia_days = 0 },
      { id = "analyses", prefix = "analyses/", days = var.analyses_retention_days, ia_days = 0 },
      { id = "analytics", prefix = "analytics/", days = var.analytics_retention_days, ia_days = 0 },
      { id = "athena-results", prefix = "athena-results/", days = var.athena_results_retention_days, ia_days = 0 },
      { id = "reports", prefix = "reports/", days = var.reports_retention_days, ia_days = 0 },
      # Work in progress (transcribe's per-chunk checkpoints): removed when a step finishes; this sweeps leftovers.
      { id = "work", prefix = "work/", days = var.checkpoints_retention_days, ia_days = 0 },
    ]
    messages  = [{ id = "claim-check-bodies", prefix = "", days = var.messages_retention_days, ia_days = 0 }]
    logs      = [{ id = "logs", prefix = "", days = var.logs_retention_days, ia_days = 0 }]
    simulator = [{ id = "simulator-data", prefix = "", days = var.simulator_retention_days, ia_days = 0 }]
  }

  all_buckets = {
    recordings = { versioned = true, kms = true, enabled = true }
    results    = { versioned = true, kms = true, enabled = true }
    # Transient claim-check bodies, written once and expired within days: versions would only add cost.
    messages = { versioned = false, kms = true, enabled = true }
    # S3 server access logs only support SSE-S3 (AES256) on the target bucket, and so do ALB access logs.
    logs = { versioned = true, kms = false, enabled = true }
    # Generated, reproducible demo data.
    simulator = { versioned = false, kms = true, enabled = var.create_simulator_bucket }
  }

  buckets        = { for role, b in local.all_buckets : role => b if b.enabled }
  logged_buckets = { for role, b in local.buckets : role => b if role != "logs" }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per deployment, not a default; PITR/versioning cover mistakes.
  #checkov:skip=CKV2_AWS_62:No consumer needs S3 event notifications; the pipeline is driven by SQS messages.
  #checkov:skip=CKV_AWS_145:Only {prefix}-logs uses SSE-S3, because S3 access logs and ALB access logs cannot be delivered to an SSE-KMS bucket.
  for_each = local.buckets

  bucket        = "${var.name_prefix}-${each.key}"
  force_destroy = var.force_destroy_buckets
  tags          = merge(var.tags, { "callpipe:bucket" = each.key })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = { for role, b in local.buckets : role => b if b.versioned }

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "kms" {
  for_each = { for role, b in local.buckets : role => b if b.kms }

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "s3_managed" {
  for_each = { for role, b in local.buckets : role => b if !b.kms }

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  dynamic "rule" {
    for_each = local.day_rules[each.key]
    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.prefix
      }

      dynamic "transition" {
        for_each = rule.value.ia_days > 0 && rule.value.ia_days < rule.value.days ? [rule.value.ia_days] : []
        content {
          days          = transition.value
          storage_class = "STANDARD_IA"
        }
      }

      expiration {
        days = rule.value.days
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  dynamic "rule" {
    for_each = each.value.versioned ? ["noncurrent-versions"] : []
    content {
      id     = rule.value
      status = "Enabled"

      filter {
        prefix = ""
      }

      noncurrent_version_expiration {
        noncurrent_days = var.noncurrent_version_retention_days
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }

      expiration {
        expired_object_delete_marker = true
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# --- Bucket policies: TLS only everywhere; the log bucket also admits S3 access-log and ALB log delivery. --------------

# Regions launched before August 2022 deliver ALB logs as a regional ELB account (the data source knows those and
# fails for any other region); newer regions deliver as the log-delivery service principal.
locals {
  legacy_elb_log_regions = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-northeast-1",
    "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ca-central-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1",
    "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
  ]
}

data "aws_elb_service_account" "this" {
  count = contains(local.legacy_elb_log_regions, local.region) ? 1 : 0
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[each.key].arn,
      "${aws_s3_bucket.this[each.key].arn}/*",
    ]

    # {"AWS": "*"} is the same as "*" for a Deny, and moto's bucket-policy parser only understands the map form.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # One statement per source bucket, each scoped to its own prefix.
  dynamic "statement" {
    for_each = each.key == "logs" ? local.logged_buckets : {}
    content {
      sid       = "S3ServerAccessLogsFrom${title(statement.key)}"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this["logs"].arn}/s3-access/${statement.key}/*"]

      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:${local.partition}:s3:::${var.name_prefix}-${statement.key}"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }

  # ALB access logs (see legacy_elb_log_regions above).
  dynamic "statement" {
    for_each = each.key == "logs" ? data.aws_elb_service_account.this : []
    content {
      sid       = "AlbAccessLogsRegionalElbAccount"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this["logs"].arn}/alb/AWSLogs/${local.account_id}/*"]

      principals {
        type        = "AWS"
        identifiers = [statement.value.arn]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "logs" ? ["alb"] : []
    content {
      sid       = "AlbAccessLogsDeliveryService"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this["logs"].arn}/alb/AWSLogs/${local.account_id}/*"]

      principals {
        type        = "Service"
        identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.logged_buckets

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.this["logs"].id
  target_prefix = "s3-access/${each.key}/"

  # The log bucket's policy must admit the log-delivery service before logging can be switched on.
  depends_on = [aws_s3_bucket_policy.this]
}
