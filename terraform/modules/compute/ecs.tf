# One cluster, one image, five services: `api` (FARGATE, behind the ALB) and one worker per stage (FARGATE_SPOT),
# plus the one-off `journey-starter` task that the polling schedule runs.
# The image's ENTRYPOINT is `callpipe`; each task definition's command picks the role:
#   api                           -> callpipe api
#   poll|fetch|transcribe|analyze -> callpipe worker --stage <stage>
#   journey-starter               -> callpipe journey start --lookback-minutes N (journey_starter_command)

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  image      = coalesce(var.image, "${aws_ecr_repository.this.repository_url}:${var.image_tag}")
  stages     = ["poll", "fetch", "transcribe", "analyze"]

  # The drain budget fits inside stopTimeout (120 s) with time left to release unfinished messages; override it
  # through var.environment.
  base_environment = merge({ CALLPIPE_CONSUMER_GRACE_PERIOD_S = "100" }, var.environment, {
    CALLPIPE_NAME_PREFIX = var.name_prefix
    CALLPIPE_LOG_FORMAT  = "json"
    AWS_REGION           = local.region
    AWS_DEFAULT_REGION   = local.region
  })
  environment = [for k in sort(keys(local.base_environment)) : { name = k, value = local.base_environment[k] }]
  transcribe_environment = merge(
    { CALLPIPE_AUDIO_PROCESSES = tostring(floor(var.workers["transcribe"].cpu / 1024)) }, local.base_environment
  )

  # Shared by every container: read-only root file system with a writable task-local /tmp, an init process that
  # forwards SIGTERM to Python and reaps children, and 120 s (the Fargate maximum) between SIGTERM and SIGKILL so a
  # worker can stop receiving, finish in-flight messages and release the rest (visibility 0).
  container_base = {
    name                   = "callpipe"
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = true
    stopTimeout            = 120
    environment            = local.environment
    linuxParameters        = { initProcessEnabled = true }
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
  }

  services = merge(
    {
      api = {
        cpu     = var.api.cpu
        memory  = var.api.memory
        command = ["api"]
        extra = {
          portMappings = [{ containerPort = 8080, protocol = "tcp" }]
          healthCheck = {
            command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
            interval    = 30
            timeout     = 5
            retries     = 3
            startPeriod = 30
          }
        }
        role_arn = aws_iam_role.api.arn
      }
    },
    {
      for stage in local.stages : stage => {
        cpu     = var.workers[stage].cpu
        memory  = var.workers[stage].memory
        command = ["worker", "--stage", stage]
        # Transcribe's audio preparation is CPU work that holds the GIL: with 2+ vCPUs it gets a process per vCPU
        # (CALLPIPE_AUDIO_PROCESSES), with one it stays in a thread of the worker. var.environment can override it.
        extra = {
          environment = stage == "transcribe" && var.workers[stage].cpu >= 2048 ? [
            for k in sort(keys(local.transcribe_environment)) : { name = k, value = local.transcribe_environment[k] }
          ] : local.environment
        }
        role_arn = aws_iam_role.worker[stage].arn
      }
    },
    {
      # Not a service: EventBridge Scheduler runs it as a one-off task (modules/scheduling).
      "journey-starter" = {
        cpu      = 256
        memory   = 512
        command  = var.journey_starter_command
        extra    = {}
        role_arn = aws_iam_role.journey_starter.arn
      }
    },
  )
}

resource "aws_ecr_repository" "this" {
  name                 = var.name_prefix
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 50 most recent images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 50 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_ecs_cluster" "this" {
  name = var.name_prefix

  # Container Insights publishes RunningTaskCount per service, the divisor of the backlog-per-task scaling metric.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "this" {
  for_each = local.services

  family                   = "${var.name_prefix}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = each.value.role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    merge(local.container_base, each.value.extra, {
      command = each.value.command
      secrets = concat(
        [for c in lookup(var.service_credentials, each.key, []) : var.credential_secrets[c]],
        var.setting_secrets,
      )
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = var.log_group_names[each.key]
          awslogs-region        = local.region
          awslogs-stream-prefix = each.key
          mode                  = "non-blocking"
          max-buffer-size       = "25m"
        }
      }
    })
  ])

  tags = var.tags
}

resource "aws_ecs_service" "api" {
  name                              = "api"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this["api"].arn
  desired_count                     = var.api.desired_count
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }

  network_configuration {
    subnets          = var.task_subnet_ids
    security_groups  = [aws_security_group.api_tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "callpipe"
    container_port   = 8080
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this, aws_lb_listener.https]
  tags       = var.tags
}

resource "aws_ecs_service" "worker" {
  for_each = toset(local.stages)

  name                    = each.key
  cluster                 = aws_ecs_cluster.this.id
  task_definition         = aws_ecs_task_definition.this[each.key].arn
  desired_count           = 0 # Application Auto Scaling owns the count from here on.
  platform_version        = "LATEST"
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  capacity_provider_strategy {
    capacity_provider = "FARGATE_SPOT"
    weight            = 1
  }

  dynamic "capacity_provider_strategy" {
    for_each = var.worker_on_demand_weight > 0 ? [var.worker_on_demand_weight] : []
    content {
      capacity_provider = "FARGATE"
      weight            = capacity_provider_strategy.value
    }
  }

  network_configuration {
    subnets          = var.task_subnet_ids
    security_groups  = [aws_security_group.workers.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this]
  tags       = var.tags
}
