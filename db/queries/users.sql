-- name: CreateUser :one
INSERT INTO users (id, email, username, display_name, password_hash, role, is_active, email_verified_at, created_at, updated_at)
VALUES (@id, @email, @username, @display_name, @password_hash, @role, @is_active, @email_verified_at, @created_at, @updated_at)
RETURNING *;

-- name: GetUserByID :one
SELECT * FROM users WHERE id = @id;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE email = @email;

-- name: UpdateUser :one
UPDATE users
SET email = @email, username = @username, display_name = @display_name,
    role = @role, is_active = @is_active, email_verified_at = @email_verified_at, updated_at = @updated_at
WHERE id = @id
RETURNING *;

-- name: UpdateUserPassword :execrows
UPDATE users SET password_hash = @password_hash, updated_at = @updated_at WHERE id = @id;

-- name: DeleteUser :execrows
DELETE FROM users WHERE id = @id;

-- name: CountAdmins :one
SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active = TRUE;

-- name: ListUsers :many
SELECT * FROM users
WHERE id < @cursor
  AND (CAST(@q AS TEXT) = ''
       OR email LIKE '%' || CAST(@q AS TEXT) || '%'
       OR username LIKE '%' || CAST(@q AS TEXT) || '%'
       OR LOWER(COALESCE(display_name, '')) LIKE '%' || CAST(@q AS TEXT) || '%')
  AND (CAST(@role AS TEXT) = '' OR role = CAST(@role AS TEXT))
  AND (CAST(@active_filter AS BIGINT) = 0 OR (CAST(@active_filter AS BIGINT) = 1 AND is_active = TRUE) OR (CAST(@active_filter AS BIGINT) = 2 AND is_active = FALSE))
ORDER BY id DESC
LIMIT CAST(@lim AS BIGINT);

-- name: LockUser :execrows
-- A write that changes nothing: it holds the account's row lock until the
-- transaction ends (PostgreSQL; SQLite's single writer already serializes),
-- so per-account checks such as the upload quota run one at a time.
UPDATE users SET updated_at = updated_at WHERE id = @id;
