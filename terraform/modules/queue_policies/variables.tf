variable "queues" {
  description = "The data module's `queues` output: per stage the work queue's and its DLQ's name, URL and ARN."
  type = map(object({
    name    = string
    url     = string
    arn     = string
    dlq_url = string
    dlq_arn = string
  }))
}
