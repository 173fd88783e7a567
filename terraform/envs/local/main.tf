module "data" {
  source = "../../modules/data"

  name_prefix       = var.name_prefix
  max_receive_count = var.max_receive_count

  # Throw-away emulator state.
  force_destroy_buckets       = true
  table_deletion_protection   = false
  kms_deletion_window_in_days = 7
}
