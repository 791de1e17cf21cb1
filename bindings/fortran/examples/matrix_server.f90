! The Fortran-served model of the cross-language matrix: the legacy ring model.
!   fortran_matrix_server serve <uri>...      serve until killed; prints "listening <uri>" per endpoint
!   fortran_matrix_server reference <points>  the model evaluated natively, one value per line
program fortran_matrix_server
  use, intrinsic :: iso_c_binding
  use demos_maas
  use ring_model
  use points_io
  implicit none
  type(maas_server) :: server
  character(len=4096) :: mode, arg
  character(len=:), allocatable :: bound
  real(c_double), allocatable :: x(:, :), logp(:)
  integer :: i

  call get_command_argument(1, mode)
  call get_command_argument(2, arg)
  if (trim(mode) == 'reference') then
     call read_points(trim(arg), x)
     allocate(logp(size(x, 2)))
     call ring_reference(x, logp)
     call print_values(logp)
     stop
  end if
  if (trim(mode) /= 'serve' .or. command_argument_count() < 2) then
     write(0, *) 'usage: fortran_matrix_server serve <uri>... | reference <points>'
     error stop 2
  end if
  call check(maas_server_create(server, '{"log_level": "warning"}'))
  call check(register_ring(server, 'ring'))
  do i = 2, command_argument_count()
     call get_command_argument(i, arg)
     call check(maas_server_listen(server, trim(arg), bound))
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
end program fortran_matrix_server
