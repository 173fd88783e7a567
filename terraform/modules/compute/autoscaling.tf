# Worker autoscaling on backlog per task, 0..max_tasks per stage.
#
#   backlog_per_task = ApproximateNumberOfMessagesVisible(stage queue) / max(RunningTaskCount(service), 1)
#
# A target-tracking policy holds it at `target_backlog_per_task`: above the target it adds tasks in proportion, and
# when the queue is empty the metric is 0 and it scales in to 0 (so an idle stage runs nothing). Target tracking
# multiplies the current count, so it cannot leave 0 by itself: a step policy on a "work waiting, desired count 0"
# alarm adds the first task (ChangeInCapacity +1, so it never scales in against target tracking), and target
# tracking takes over from there. Scale-in of a worker is safe: ECS sends
# SIGTERM and the worker drains within stopTimeout (120 s); anything unfinished becomes visible again.
#
# Not applied in envs/local: moto does not implement the Application Auto Scaling calls the provider makes.

locals {
  running_task_metric = {
    for stage in local.stages : stage => {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions = {
        ClusterName = aws_ecs_cluster.this.name
        ServiceName = aws_ecs_service.worker[stage].name
      }
    }
  }
}

resource "aws_appautoscaling_target" "worker" {
  for_each = toset(local.stages)

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker[each.key].name}"
  min_capacity       = 0
  max_capacity       = var.workers[each.key].max_tasks
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "backlog_per_task" {
  for_each = toset(local.stages)

  name               = "${var.name_prefix}-${each.key}-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker[each.key].service_namespace
  scalable_dimension = aws_appautoscaling_target.worker[each.key].scalable_dimension
  resource_id        = aws_appautoscaling_target.worker[each.key].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.workers[each.key].target_backlog_per_task
    scale_out_cooldown = var.scale_out_cooldown
    scale_in_cooldown  = var.scale_in_cooldown

    customized_metric_specification {
      metrics {
        id          = "visible"
        label       = "Messages visible in ${local.q[each.key].name}"
        return_data = false
        metric_stat {
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = local.q[each.key].name
            }
          }
          stat = "Sum"
        }
      }

      metrics {
        id          = "running"
        label       = "Running ${each.key} tasks"
        return_data = false
        metric_stat {
          metric {
            namespace   = local.running_task_metric[each.key].namespace
            metric_name = local.running_task_metric[each.key].metric_name
            dynamic "dimensions" {
              for_each = local.running_task_metric[each.key].dimensions
              content {
                name  = dimensions.key
                value = dimensions.value
              }
            }
          }
          stat = "Average"
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Backlog per ${each.key} task"
        expression  = "visible / IF(FILL(running, 0) > 0, FILL(running, 0), 1)"
        return_data = true
      }
    }
  }
}

resource "aws_appautoscaling_policy" "wake_from_zero" {
  for_each = toset(local.stages)

  name               = "${var.name_prefix}-${each.key}-wake-from-zero"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.worker[each.key].service_namespace
  scalable_dimension = aws_appautoscaling_target.worker[each.key].scalable_dimension
  resource_id        = aws_appautoscaling_target.worker[each.key].resource_id

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = var.scale_out_cooldown
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "wake_from_zero" {
  for_each = toset(local.stages)

  alarm_name          = "${var.name_prefix}-${each.key}-wake-from-zero"
  alarm_description   = "Messages wait in ${local.q[each.key].name} while the ${each.key} service wants no task: start one (target tracking scales on from there)."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.wake_from_zero[each.key].arn]

  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = local.q[each.key].name }
      stat        = "Maximum"
      period      = 60
    }
  }

  metric_query {
    id = "desired"
    metric {
      namespace   = local.running_task_metric[each.key].namespace
      metric_name = "DesiredTaskCount"
      dimensions  = local.running_task_metric[each.key].dimensions
      stat        = "Maximum"
      period      = 60
    }
  }

  metric_query {
    id          = "idle_with_work"
    label       = "Work waiting and no ${each.key} task wanted"
    expression  = "IF(visible > 0 AND FILL(desired, 0) == 0, 1, 0)"
    return_data = true
  }

  tags = var.tags
}
