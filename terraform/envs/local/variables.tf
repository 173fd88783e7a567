variable "endpoint" {
  description = "URL of the local AWS emulator (moto server or LocalStack)."
  type        = string
  default     = "http://127.0.0.1:4566"
}

variable "region" {
  description = "Region the emulator answers for."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (the code's CALLPIPE_NAME_PREFIX)."
  type        = string
  default     = "callpipe-local"
}

variable "max_receive_count" {
  description = "Redrive maxReceiveCount of every stage queue."
  type        = number
  default     = 5
}
