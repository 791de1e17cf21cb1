! The Fortran client of the cross-language matrix: prints the remote log-densities of a points file.
!   fortran_matrix_client <uri> <model> <points>
program fortran_matrix_client
  use, intrinsic :: iso_c_binding
  use demos_maas
  use points_io
  implicit none
  type(maas_client) :: client
  character(len=4096) :: uri, model, path
  real(c_double), allocatable :: x(:, :), logp(:)
  integer :: status

  if (command_argument_count() /= 3) then
     write(0, *) 'usage: fortran_matrix_client <uri> <model> <points>'
     error stop 2
  end if
  call get_command_argument(1, uri)
  call get_command_argument(2, model)
  call get_command_argument(3, path)
  call read_points(trim(path), x)
  allocate(logp(size(x, 2)))
  status = maas_connect(client, trim(uri))
  if (status == MAAS_OK) status = maas_log_density(client, trim(model), x, logp)
  if (status /= MAAS_OK) then
     write(0, *) 'error ', status, ': ', maas_last_error()
     error stop 1
  end if
  call print_values(logp)
  status = maas_close(client)
end program fortran_matrix_client
