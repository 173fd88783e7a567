# The API behind an HTTPS Application Load Balancer; TLS terminates at the ALB, the target group health-checks
# GET /health on the container port 8080.

resource "aws_security_group" "alb" {
  name        = "${var.name_prefix}-api-alb"
  description = "callpipe API load balancer: HTTPS in from clients, HTTP to the API tasks"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "api_tasks" {
  name        = "${var.name_prefix}-api-tasks"
  description = "callpipe API tasks: port 8080 from the load balancer, HTTPS out"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "workers" {
  name        = "${var.name_prefix}-workers"
  description = "callpipe stage workers: no inbound, HTTPS out"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.alb_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from API clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Forward to the API tasks"
  referenced_security_group_id = aws_security_group.api_tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api_tasks.id
  description                  = "Requests and health checks from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
}

locals {
  task_egress = {
    for pair in setproduct(var.task_egress_cidrs, var.task_egress_ports) : "${pair[0]}:${pair[1]}" => {
      cidr = pair[0]
      port = pair[1]
    }
  }
}

resource "aws_vpc_security_group_egress_rule" "api_out" {
  for_each = local.task_egress

  security_group_id = aws_security_group.api_tasks.id
  description       = "AWS APIs, Webex Contact Center, OpenAI"
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
}

resource "aws_vpc_security_group_egress_rule" "workers_out" {
  for_each = local.task_egress

  security_group_id = aws_security_group.workers.id
  description       = "AWS APIs, Webex Contact Center, OpenAI"
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
}

resource "aws_lb" "api" {
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is attached when waf_web_acl_arn is set; the default internal ALB is reachable only from alb_ingress_cidrs.
  name                       = substr("${var.name_prefix}-api", 0, 32)
  load_balancer_type         = "application"
  internal                   = var.alb_internal
  subnets                    = var.alb_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection

  access_logs {
    bucket  = var.buckets.logs.name
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "api" {
  count = var.waf_web_acl_arn == null ? 0 : 1

  resource_arn = aws_lb.api.arn
  web_acl_arn  = var.waf_web_acl_arn
}

resource "aws_lb_target_group" "api" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the ALB; ALB-to-task traffic stays in the VPC and the task security group admits only the ALB.
  name                 = substr("${var.name_prefix}-api", 0, 32)
  port                 = 8080
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/health"
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }

  tags = var.tags
}

# webhooks (issue 17): WXCC posts capture:available to POST /api/v1/webhooks/wxcc (authenticated by its HMAC
# signature, not an API key). WXCC must reach the ALB: a public ALB (alb_internal = false), or a route in front.
# Its source ranges (webhook_source_cidrs) are let in on 443 and may reach that one path only.
resource "aws_vpc_security_group_ingress_rule" "alb_webhooks" {
  for_each = toset(var.webhook_source_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from WXCC webhooks"
  cidr_ipv4         = each.value
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
  tags              = var.tags
}

resource "aws_lb_listener_rule" "webhooks" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  condition {
    path_pattern {
      values = ["/api/v1/webhooks/wxcc"]
    }
  }

  condition {
    http_request_method {
      values = ["POST"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "webhook_sources_only_webhooks" {
  count        = length(var.webhook_source_cidrs) > 0 ? 1 : 0
  listener_arn = aws_lb_listener.https.arn
  priority     = 20

  condition {
    source_ip {
      values = var.webhook_source_cidrs
    }
  }

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      message_body = "{\"error\": {\"code\": \"forbidden\", \"message\": \"only the webhook path is open to this source\"}}"
      status_code  = "403"
    }
  }

  tags = var.tags
}

variable "webhook_source_cidrs" {
  description = "Source ranges of WXCC webhook deliveries (Cisco publishes them per data center): HTTPS in, webhook path only."
  type        = list(string)
  default     = []
}
