variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "domain_prefix" {
  description = "Hosted-UI domain prefix (https://<prefix>.auth.<region>.amazoncognito.com); globally unique."
  type        = string
}

variable "callback_urls" {
  description = "Where the sign-in returns to: the console's URL (https://api.example.com/), exactly as served."
  type        = list(string)

  validation {
    condition     = length(var.callback_urls) > 0 && alltrue([for u in var.callback_urls : can(regex("^(https://|http://localhost[:/])", u))])
    error_message = "Give at least one callback URL; each must be https:// (or http://localhost for development)."
  }
}

variable "logout_urls" {
  description = "Where sign-out returns to (default: none)."
  type        = list(string)
  default     = []
}

variable "mfa" {
  description = "OFF, OPTIONAL or ON (TOTP software tokens)."
  type        = string
  default     = "OPTIONAL"

  validation {
    condition     = contains(["OFF", "OPTIONAL", "ON"], var.mfa)
    error_message = "mfa is OFF, OPTIONAL or ON."
  }
}

variable "advanced_security_mode" {
  description = "Cognito threat protection: OFF, AUDIT or ENFORCED (billed per user)."
  type        = string
  default     = "OFF"
}

variable "token_validity_minutes" {
  description = "Lifetime of ID and access tokens."
  type        = number
  default     = 60
}

variable "refresh_token_validity_days" {
  description = "Lifetime of refresh tokens."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool (turn off before destroying)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags on the user pool."
  type        = map(string)
  default     = {}
}
