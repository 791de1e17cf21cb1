! Points files of the cross-language matrix: "n d" then n*d numbers; results one per line.
module points_io
  use, intrinsic :: iso_c_binding
  implicit none
contains
  subroutine read_points(path, x)
    character(len=*), intent(in) :: path
    real(c_double), allocatable, intent(out) :: x(:, :)
    integer :: unit, n, d
    open(newunit=unit, file=path, status='old', action='read')
    read(unit, *) n, d
    allocate(x(d, n))
    read(unit, *) x
    close(unit)
  end subroutine read_points

  subroutine print_values(values)
    real(c_double), intent(in) :: values(:)
    integer :: i
    do i = 1, size(values)
       write(*, '(ES25.17E3)') values(i)
    end do
  end subroutine print_values
end module points_io
