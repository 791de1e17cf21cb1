! Template: a model served from Fortran.  Replace my_log_density with your model (or call your legacy
! routine from it); build with make; run ./my_model [listen-uri ...] (default tcp://127.0.0.1:5000).
module my_model_procedures
  use, intrinsic :: iso_c_binding
  use demos_maas
  implicit none
contains
  !> log p(x(:, i) | mu, sigma) for each of the n points; theta = (mu, sigma).
  integer(c_int) function my_log_density(x, n, d, theta, p, out, user_data) bind(C) result(status)
    integer(c_int64_t), value :: n, d, p
    real(c_double), intent(in) :: x(d, n), theta(p)
    real(c_double), intent(out) :: out(n)
    type(c_ptr), value :: user_data
    integer(c_int64_t) :: i
    status = 0
    if (theta(2) <= 0) then
       call maas_callback_error('sigma must be positive')
       status = 1
       return
    end if
    do i = 1, n
       out(i) = -0.5d0 * sum(((x(:, i) - theta(1)) / theta(2))**2) - d * log(theta(2) * sqrt(8 * atan(1.0d0)))
    end do
  end function my_log_density
end module my_model_procedures

program my_model
  use, intrinsic :: iso_c_binding
  use demos_maas
  use my_model_procedures
  implicit none
  type(maas_server) :: server
  type(maas_model_callbacks) :: callbacks
  character(len=4096) :: uri
  character(len=:), allocatable :: bound
  integer :: i

  call check(maas_server_create(server, '{"log_level": "warning"}'))
  callbacks%log_density = c_funloc(my_log_density)
  call check(maas_server_register(server, '{"name": "my_model", "input_dim": 2, "parameters": [' // &
       '{"name": "mu", "default": 0}, {"name": "sigma", "default": 1, "lower": 1e-12}]}', callbacks))
  do i = 1, max(1, command_argument_count())
     uri = 'tcp://127.0.0.1:5000'
     if (command_argument_count() > 0) call get_command_argument(i, uri)
     call check(maas_server_listen(server, trim(uri), bound))
     write(*, '(A)') 'listening ' // bound
     flush(6)
  end do
  call check(maas_server_serve(server))
contains
  subroutine check(status)
    integer, intent(in) :: status
    if (status /= MAAS_OK) then
       write(0, *) 'error ', status, ': ', maas_last_error()
       error stop 1
    end if
  end subroutine check
end program my_model
