output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "journey_starter" {
  description = "What a scheduler needs to run the journey-starter task: task definition, roles to pass, network."
  value = {
    task_definition_arn = aws_ecs_task_definition.this["journey-starter"].arn
    pass_role_arns      = [aws_iam_role.execution.arn, aws_iam_role.journey_starter.arn]
    subnet_ids          = var.task_subnet_ids
    security_group_ids  = [aws_security_group.workers.id]
  }
}

output "service_names" {
  description = "Service role (api and each stage) to ECS service name."
  value = merge(
    { api = aws_ecs_service.api.name },
    { for stage, s in aws_ecs_service.worker : stage => s.name },
  )
}

output "ecr_repository_url" {
  description = "Push the image here (tag it with image_tag)."
  value       = aws_ecr_repository.this.repository_url
}

output "image" {
  description = "Image reference the task definitions run."
  value       = local.image
}

output "api_url" {
  description = "Base URL of the API."
  value       = "https://${coalesce(var.api_domain_name, aws_lb.api.dns_name)}"
}

output "alb_dns_name" {
  description = "DNS name of the API load balancer (point api_domain_name's record here)."
  value       = aws_lb.api.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record."
  value       = aws_lb.api.zone_id
}

output "task_role_arns" {
  description = "Service role to its task role ARN."
  value = merge(
    { api = aws_iam_role.api.arn, "journey-starter" = aws_iam_role.journey_starter.arn },
    { for stage, r in aws_iam_role.worker : stage => r.arn },
  )
}

output "execution_role_arn" {
  description = "Task execution role ARN."
  value       = aws_iam_role.execution.arn
}
