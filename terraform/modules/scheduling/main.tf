# Scheduled ingestion: every N minutes EventBridge Scheduler runs the one-off `journey-starter` task
# (`callpipe journey start --lookback-minutes M`, see the compute module's journey_starter_command),
# which starts a polling journey exactly as `POST /journeys` on the API does: it creates the journey record and
# enqueues the journey's first poll message. From there the pipeline runs as for any journey.
#
# Why a task and not a message or an HTTP call:
#   - a bare `poll` message cannot start a journey: the poll stage requires an existing journey and a window in epoch
#     milliseconds, and Scheduler can only substitute the scheduled time as text into a fixed message;
#   - Scheduler cannot call an HTTP API without a Lambda or an EventBridge API destination plus an API credential,
#     and the API's load balancer is internal by default.
# ECS RunTask is a native Scheduler target: one IAM role, retries by Scheduler, and the code path stays in the code.
# Overlapping lookback windows (lookback > interval) lose nothing when a run is late or fails; the tracking table's
# conditional claim makes the calls seen twice count once.
#
# With webhooks (issue 17) this schedule is the reconciliation: WXCC's capture:available deliveries are not guaranteed,
# so each run finds what the webhooks missed. A call a webhook already claimed (under the org's live journey) counts as
# `skipped_duplicate` in the run's journey; its `poll.queued` is what only the poll found. The interval may then be
# long (e.g. 60 min, lookback 120 min): webhooks bring the latency, this schedule the completeness.

locals {
  schedule_expression = var.interval_minutes == 1 ? "rate(1 minute)" : "rate(${var.interval_minutes} minutes)"
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "run_task" {
  statement {
    sid       = "RunJourneyStarter"
    actions   = ["ecs:RunTask"]
    resources = [var.journey_starter.task_definition_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    sid       = "TagTheTask"
    actions   = ["ecs:TagResource"]
    resources = ["arn:aws:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:task/${element(split("/", var.cluster_arn), 1)}/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = var.journey_starter.pass_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "DecryptSchedule"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-journey-starter"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.run_task.json
}

resource "aws_scheduler_schedule_group" "this" {
  name = var.name_prefix
  tags = var.tags
}

resource "aws_scheduler_schedule" "poll" {
  name                         = "${var.name_prefix}-poll"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "Start a callpipe polling journey every ${var.interval_minutes} min."
  schedule_expression          = local.schedule_expression
  schedule_expression_timezone = var.timezone
  state                        = var.enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.cluster_arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      task_definition_arn     = var.journey_starter.task_definition_arn
      launch_type             = "FARGATE"
      platform_version        = "LATEST"
      task_count              = 1
      enable_ecs_managed_tags = true
      propagate_tags          = "TASK_DEFINITION"

      network_configuration {
        subnets          = var.journey_starter.subnet_ids
        security_groups  = var.journey_starter.security_group_ids
        assign_public_ip = false
      }
    }

    retry_policy {
      # A run that cannot start within a few minutes is superseded by the next one (overlapping windows).
      maximum_event_age_in_seconds = 300
      maximum_retry_attempts       = 3
    }
  }
}
