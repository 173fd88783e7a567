# One task role per service with only what its code path uses, and one execution role (image pull, logs, secrets).
# Data resources are always named exactly (queue, table, index, bucket or bucket prefix ARNs), never "*".

locals {
  q = var.queues
  t = var.tables
  b = var.buckets

  table_write_actions = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
  ]
  table_read_actions = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]

  # privacy (issue 16): every object of a call an erasure (or an in-flight step's sweep) deletes
  privacy_call_objects = [
    "${local.b.recordings.arn}/recordings/*",
    "${local.b.results.arn}/transcripts/*",
    "${local.b.results.arn}/analyses/*",
    "${local.b.results.arn}/analytics/*",
    "${local.b.results.arn}/work/*",
  ]

  # Which queues, tables and objects each worker touches (DESIGN §2): it consumes its own queue, sends poison straight
  # to its own DLQ, hands work to the next stage, updates the tracking row and the journey counters.
  worker_access = {
    poll = {
      # The poller pages through a window by re-enqueueing itself, and hands each discovered call to fetch.
      send_to   = ["poll", "fetch"]
      tables_rw = ["tracking", "journeys", "coordination"]
      s3_read   = ["${local.b.messages.arn}/*"]
      s3_write  = ["${local.b.messages.arn}/*"]
      s3_list   = []
      s3_delete = []
    }
    fetch = {
      send_to   = ["transcribe"]
      tables_rw = ["tracking", "journeys", "coordination"]
      s3_read   = ["${local.b.messages.arn}/*", "${local.b.recordings.arn}/*"]
      s3_write  = ["${local.b.messages.arn}/*", "${local.b.recordings.arn}/*"]
      s3_list   = [local.b.recordings.arn]
      s3_delete = []
    }
    transcribe = {
      # license (issue 14): admission (reservation) before transcribing, held calls' items; resuming held calls
      # (activation raced a hold, month rollover) re-sends their transcribe or analyze message.
      send_to   = ["analyze", "transcribe"]
      tables_rw = ["tracking", "journeys", "license"]
      s3_read   = ["${local.b.messages.arn}/*", "${local.b.recordings.arn}/*", "${local.b.results.arn}/transcripts/*", "${local.b.results.arn}/work/*"]
      s3_write  = ["${local.b.messages.arn}/*", "${local.b.results.arn}/transcripts/*", "${local.b.results.arn}/work/*"]
      s3_list   = [local.b.results.arn]
      # Per-chunk checkpoints (shared/checkpoints.py), removed once the call's transcript is stored.
      s3_delete = ["${local.b.results.arn}/work/*"]
    }
    analyze = {
      send_to = ["transcribe", "analyze"] # license (issue 14): resumed held calls only
      # analytics: the call's record and its aggregate items, in the same transaction as the tracking row.
      # license (issue 14): admission, and the call's usage counted in that same transaction.
      tables_rw = ["tracking", "journeys", "analytics", "license"]
      s3_read   = ["${local.b.messages.arn}/*", "${local.b.results.arn}/transcripts/*", "${local.b.results.arn}/analyses/*"]
      s3_write  = ["${local.b.messages.arn}/*", "${local.b.results.arn}/analyses/*", "${local.b.results.arn}/analytics/*"]
      s3_list   = [local.b.results.arn]
      s3_delete = []
    }
  }
}

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- Execution role: what ECS itself needs to start a task ----------------------------------------------------------

data "aws_iam_policy_document" "execution" {
  statement {
    sid = "PullImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions.
  }

  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for arn in values(var.log_group_arns) : "${arn}:log-stream:*"]
  }

  statement {
    sid       = "InjectSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.secret_arns
  }

  dynamic "statement" {
    for_each = length(var.parameter_arns) > 0 ? ["settings"] : []
    content {
      sid       = "InjectSettings"
      actions   = ["ssm:GetParameters"]
      resources = var.parameter_arns
    }
  }

  statement {
    sid       = "DecryptSecretsAndSettings"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "secretsmanager.${local.region}.amazonaws.com",
        "ssm.${local.region}.amazonaws.com",
      ]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-tasks"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- API task role ------------------------------------------------------------------------------------------------------

# Exactly the calls the API's code makes (api/, and the shared/ and queues/ code it runs), by route:
#   POST /journeys             journeys table: idempotency key Put/Get, journey Put (transaction); poll queue Send;
#                              a body over the claim-check threshold goes to the messages bucket (PutObject)
#     kind=reprocess           + tracking rows reopened (UpdateItem), the analyze queue Send
#   GET /journeys[/{id}], cancel   journeys table Get/Query (by-state index)/Update; DLQ depths (GetQueueAttributes)
#   GET /calls/{task_id}       tracking table GetItem; analytics table GetItem (the call's record)
#   GET /calls, GET /analytics/summary   analytics table BatchGetItem (aggregate blocks), Query (the by-org-time,
#                              -queue, -agent, -sentiment listing indexes) and GetItem
#   GET /calls/{task_id}/transcript      the transcript object (results bucket, transcripts/*) GetObject
#   GET /calls/{task_id}/recording       presigned GET URLs of recordings: signed with this role, so s3:GetObject on
#                              recordings/* (the API never reads the bytes itself)
#   GET /dlq, POST /dlq/{stage}/replay   each DLQ: Receive/Delete/ChangeMessageVisibility or StartMessageMoveTask;
#                              its work queue: Send; a FAILED call reopened (tracking Get/Update, journey counters)
#   GET /ready                 GetQueueUrl on every queue, DescribeTable on every table, HeadBucket (= s3:ListBucket)
# Nothing else: no Scan, no coordination items, no analysis object, no PurgeQueue.
data "aws_iam_policy_document" "api" {
  statement {
    sid       = "Journeys"
    actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = concat([local.t.journeys.arn], values(local.t.journeys.index_arns))
  }

  statement {
    sid       = "CallRowsReadAndReopen"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [local.t.tracking.arn]
  }

  statement {
    sid       = "AnalyticsRead"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"] # analytics: aggregate blocks (batch)
    resources = concat([local.t.analytics.arn], values(local.t.analytics.index_arns))
  }

  statement {
    sid       = "TranscriptsAndRecordingLinks"
    actions   = ["s3:GetObject"]
    resources = ["${local.b.results.arn}/transcripts/*", "${local.b.recordings.arn}/*"]
  }

  statement {
    sid       = "ReadinessTables"
    actions   = ["dynamodb:DescribeTable"]
    resources = [for t in values(local.t) : t.arn]
  }

  statement {
    sid       = "EnqueueWork"
    actions   = ["sqs:SendMessage"]
    resources = [for s in values(local.q) : s.arn]
  }

  statement {
    sid       = "FindAndMeasureQueues"
    actions   = ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = concat([for s in values(local.q) : s.arn], [for s in values(local.q) : s.dlq_arn])
  }

  statement {
    sid = "ReplayDeadLetters"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:StartMessageMoveTask",
      "sqs:ListMessageMoveTasks",
    ]
    resources = [for s in values(local.q) : s.dlq_arn]
  }

  statement {
    sid       = "ClaimCheckBodies"
    actions   = ["s3:PutObject"]
    resources = ["${local.b.messages.arn}/*"]
  }

  statement {
    sid       = "ReadinessBuckets"
    actions   = ["s3:ListBucket"] # what HeadBucket needs
    resources = [local.b.recordings.arn, local.b.results.arn, local.b.messages.arn]
  }

  # access control (issue 20): every mutating request writes an audit event, GET /audit reads them back
  # (s3://{prefix}-logs/audit/dt=…; SSE-S3, so no KMS); /ready's HeadBucket and the reader's listing need ListBucket.
  statement {
    sid       = "AuditTrail"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${local.b.logs.arn}/audit/*"]
  }

  statement {
    sid       = "AuditTrailList"
    actions   = ["s3:ListBucket"]
    resources = [local.b.logs.arn]
  }

  # webhooks (issue 17): POST /api/v1/webhooks/wxcc claims a call under the org's live journey (TransactWriteItems
  # of the tracking row, the journey's JOB# record and counter; a rollback deletes them when SQS refuses the fetch),
  # dedupes event ids in the coordination table (WEBHOOK#… items only) and reads the webhook secret.
  statement {
    sid       = "WebhookClaims"
    actions   = ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    resources = [local.t.tracking.arn, local.t.journeys.arn]
  }

  statement {
    sid       = "WebhookEventIds"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [local.t.coordination.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["WEBHOOK#*"]
    }
  }

  statement {
    sid       = "WebhookSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:aws:secretsmanager:${local.region}:${local.account_id}:secret:${var.name_prefix}/wxcc-webhook-secret-*"]
  }

  statement {
    sid       = "WebhookSecretKey"
    actions   = ["kms:Decrypt"]
    resources = ["arn:aws:kms:${local.region}:${local.account_id}:key/*"] # the secret's key (aws/secretsmanager by default), via Secrets Manager only

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  # license (issue 14): GET/PUT /license, GET /license/usage, POST /license/resume-held and the journey-start check:
  # the active key, activation history, usage and held items (Get/Query/Put/Update, a resumed item's Delete); a
  # resume moves the call's row back (tracking UpdateItem, above) and its journey's held counter (journeys UpdateItem).
  statement {
    sid       = "License"
    actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [local.t.license.arn]
  }

  statement {
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "sqs.${local.region}.amazonaws.com",
        "s3.${local.region}.amazonaws.com",
        "dynamodb.${local.region}.amazonaws.com",
      ]
    }
  }
}

# privacy (issue 16): POST /api/v1/privacy/erasures (admin scope) runs the erasure in the API process
# (shared/privacy/erasure.py): it reads the HMAC key, finds calls by the tracking table's by-customer index (a window
# erasure reads the tracking table whole: Scan), replaces rows by tombstones, deletes the call's objects by their own
# prefixes, its analytics record (with its aggregates, one transaction), its JOB# items (journeys' by-sk index, in
# the Journeys statement) and license items, rebuilds reports, deletes claim-check bodies that mention it, and keeps
# the job records in the coordination table (erasure#… items only).
data "aws_iam_policy_document" "api_privacy" {
  statement {
    sid       = "PrivacyHmacKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:aws:secretsmanager:${local.region}:${local.account_id}:secret:${var.name_prefix}/privacy-hmac-*"]
  }

  statement {
    sid       = "ErasureFindsAndTombstonesCalls"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan"]
    resources = [local.t.tracking.arn, "${local.t.tracking.arn}/index/by-customer"]
  }

  statement {
    sid       = "ErasureRemovesItems"
    actions   = ["dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem"]
    resources = [local.t.journeys.arn, local.t.analytics.arn, local.t.license.arn]
  }

  statement {
    sid       = "ErasureJobs"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.t.coordination.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["erasure#*"]
    }
  }

  statement {
    sid       = "ErasureDeletesObjects"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"] # every version: the buckets are versioned
    resources = concat(local.privacy_call_objects, ["${local.b.messages.arn}/*"])
  }

  statement {
    sid       = "ErasureListsVersions"
    actions   = ["s3:ListBucketVersions", "s3:GetBucketVersioning"]
    resources = [local.b.recordings.arn, local.b.results.arn]
  }

  statement {
    sid       = "ErasureReadsClaimChecksAndReports"
    actions   = ["s3:GetObject"]
    resources = ["${local.b.messages.arn}/*", "${local.b.results.arn}/reports/*"]
  }

  statement {
    sid       = "ErasureRebuildsReports"
    actions   = ["s3:PutObject"]
    resources = ["${local.b.results.arn}/reports/*"]
  }
}

resource "aws_iam_role_policy" "api_privacy" {
  name   = "api-privacy"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api_privacy.json
}

resource "aws_iam_role" "api" {
  name               = "${var.name_prefix}-api-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "api" {
  name   = "api"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api.json
}

# --- Worker task roles, one per stage ---------------------------------------------------------------------------------

data "aws_iam_policy_document" "worker" {
  for_each = local.worker_access

  statement {
    sid = "ConsumeOwnQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [local.q[each.key].arn]
  }

  statement {
    sid       = "PoisonToOwnDlq"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = [local.q[each.key].dlq_arn]
  }

  dynamic "statement" {
    for_each = length(each.value.send_to) > 0 ? ["next"] : []
    content {
      sid       = "HandOnWork"
      actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
      resources = [for s in each.value.send_to : local.q[s].arn]
    }
  }

  statement {
    sid     = "TrackCallsAndJourneys"
    actions = local.table_write_actions
    resources = flatten([
      for role in each.value.tables_rw : concat([local.t[role].arn], values(local.t[role].index_arns))
    ])
  }

  dynamic "statement" {
    # license (issue 14): a resumed held call's item is deleted once its message is sent (a conditional delete of
    # HELD#… items marked resumed: shared/license/table.py forget_held).
    for_each = contains(each.value.tables_rw, "license") ? ["license"] : []
    content {
      sid       = "ForgetResumedHeldCalls"
      actions   = ["dynamodb:DeleteItem"]
      resources = [local.t.license.arn]
    }
  }

  statement {
    sid       = "ReadObjects"
    actions   = ["s3:GetObject"]
    resources = each.value.s3_read
  }

  statement {
    sid       = "WriteObjects"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = each.value.s3_write
  }

  dynamic "statement" {
    for_each = length(each.value.s3_delete) > 0 ? ["delete"] : []
    content {
      sid       = "DeleteWorkObjects"
      actions   = ["s3:DeleteObject"]
      resources = each.value.s3_delete
    }
  }

  dynamic "statement" {
    # ListBucket turns a HeadObject on a missing key into 404 instead of 403 (idempotent re-runs check for objects).
    for_each = length(each.value.s3_list) > 0 ? ["list"] : []
    content {
      sid       = "ListOwnBuckets"
      actions   = ["s3:ListBucket"]
      resources = each.value.s3_list
    }
  }

  statement {
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # privacy (issue 16): fetch stores the HMAC of the customer number (its key in Secrets Manager); a stage that finds
  # its call erased while it ran deletes every object of the call under the call's own prefixes (workers/outcomes.py,
  # shared/privacy/erasure.py `sweep_call`). Queries of the tracking table's by-customer index are in
  # TrackCallsAndJourneys (every index of the tables a stage writes).
  statement {
    sid       = "PrivacyHmacKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:aws:secretsmanager:${local.region}:${local.account_id}:secret:${var.name_prefix}/privacy-hmac-*"]
  }

  statement {
    sid       = "PrivacyHmacKeyDecrypt"
    actions   = ["kms:Decrypt"]
    resources = ["arn:aws:kms:${local.region}:${local.account_id}:key/*"] # the secret's key, via Secrets Manager only

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "PrivacySweepErasedCall"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketVersioning", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = concat(local.privacy_call_objects, [local.b.recordings.arn, local.b.results.arn])
  }

  # privacy: with CALLPIPE_REDACT_AUDIO=true transcribe replaces a recording leg by its muted copy and deletes the
  # leg's earlier versions (the recordings bucket is versioned; the original is never kept).
  dynamic "statement" {
    for_each = each.key == "transcribe" ? ["redact-audio"] : []
    content {
      sid       = "PrivacyRedactAudio"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObjectVersion"]
      resources = ["${local.b.recordings.arn}/recordings/*"]
    }
  }
}

resource "aws_iam_role" "worker" {
  for_each = local.worker_access

  name               = "${var.name_prefix}-${each.key}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "worker" {
  for_each = local.worker_access

  name   = "${each.key}-worker"
  role   = aws_iam_role.worker[each.key].id
  policy = data.aws_iam_policy_document.worker[each.key].json
}

# --- Journey starter (the scheduled one-off task): what the API needs to start a polling journey -------------------

data "aws_iam_policy_document" "journey_starter" {
  statement {
    sid       = "CreateJourney"
    actions   = local.table_write_actions
    resources = concat([local.t.journeys.arn], values(local.t.journeys.index_arns))
  }

  statement {
    sid       = "LicenseCheck" # license (issue 14): no journey starts under an expired or invalid license
    actions   = ["dynamodb:GetItem"]
    resources = [local.t.license.arn]
  }

  statement {
    sid       = "StartPolling"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = [local.q.poll.arn]
  }

  statement {
    sid       = "ClaimCheckBodies"
    actions   = ["s3:PutObject"]
    resources = ["${local.b.messages.arn}/*"]
  }

  statement {
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "journey_starter" {
  name               = "${var.name_prefix}-journey-starter-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "journey_starter" {
  name   = "journey-starter"
  role   = aws_iam_role.journey_starter.id
  policy = data.aws_iam_policy_document.journey_starter.json
}
